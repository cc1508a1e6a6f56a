package scenario

import (
	"fmt"
	"strings"
)

// Error is one problem found in a scenario or in a manifest it references. It
// names the file and line so that an editor can jump to it, and the field path
// (e.g. "timeline[2].action", "spec.template.spec.containers[0].image") so
// that the reader knows which value is meant without counting lines.
type Error struct {
	File    string
	Line    int // 1-based; 0 when the problem is not tied to a line
	Field   string
	Message string
}

// Error formats as "file:line: field: message", leaving out empty parts.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is every problem found in one load. Parse collects them all rather
// than stopping at the first, so that one edit-run cycle fixes many mistakes.
// Use errors.As(err, &scenario.Errors{}) to get at the list.
type Errors []*Error

// Error joins the problems one per line, in the order they were found (which
// is file order for the scenario file itself).
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
