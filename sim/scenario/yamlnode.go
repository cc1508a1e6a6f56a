package scenario

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
)

// parser walks yaml.v3 nodes (which keep line numbers) instead of decoding
// into structs, so that every problem can name its line and field, and so that
// one pass can collect all problems.
type parser struct {
	file     string
	readFile func(name string) ([]byte, error)
	joinPath func(scenarioFile, ref string) string
	errs     Errors
}

func (p *parser) errorf(file string, line int, field, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: file, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

// errAt reports a problem at node n of the scenario file.
func (p *parser) errAt(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errorf(p.file, line, field, format, args...)
}

// yamlErrLine matches yaml.v3's syntax errors, "yaml: line 3: ...".
var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems start the messages of yaml.v3's parser (as opposed to
// its scanner) errors, whose line numbers are 0-based.
var yamlParserProblems = []string{"did not find expected", "found duplicate", "found undefined", "found incompatible"}

// syntaxError reports a YAML syntax error in text, which came from file;
// lineOf maps a line of text (1-based) to a line of file.
func (p *parser) syntaxError(file string, text []byte, lineOf func(int) int, field string, err error) {
	msg := err.Error()
	line := 0
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		for _, prefix := range yamlParserProblems {
			if strings.HasPrefix(msg, prefix) {
				line++
				break
			}
		}
		// A problem at the end of the text is best shown on its last line.
		last := bytes.Count(text, []byte("\n"))
		if len(text) > 0 && text[len(text)-1] != '\n' {
			last++
		}
		line = max(min(line, last), 1)
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if lineOf != nil && line > 0 {
		line = lineOf(line)
	} else if lineOf != nil {
		line = lineOf(1)
	}
	p.errorf(file, line, field, "invalid YAML: %s", msg)
}

func join(path, key string) string {
	if key == "" {
		return path
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// describe names a node's type and value for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("string %q", n.Value)
		case "!!int":
			return "integer " + n.Value
		case "!!float":
			return "number " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		case "!!null":
			return "null"
		}
		return fmt.Sprintf("%s %q", n.ShortTag(), n.Value)
	}
	return "an unsupported YAML node"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// mapNode is a YAML mapping being read field by field. Fields are looked up
// with get/require; done reports every key that was never asked for as an
// unknown field, listing the fields that are known.
type mapNode struct {
	p     *parser
	node  *yaml.Node
	path  string
	order []string
	vals  map[string]*yaml.Node
	keys  map[string]*yaml.Node
	known []string
}

// mapping opens n as a mapping; it reports an error and returns nil if n is
// not one. A null node is an empty mapping. Duplicate keys are errors; merge
// keys ("<<: *anchor") are expanded, with explicit keys winning.
func (p *parser) mapping(n *yaml.Node, path string) *mapNode {
	n = resolve(n)
	m := &mapNode{p: p, node: n, path: path, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if isNull(n) {
		return m
	}
	if n.Kind != yaml.MappingNode {
		p.errAt(n, path, "want a mapping, got %s", describe(n))
		return nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			merges = append(merges, resolve(v))
			continue
		}
		if _, dup := m.vals[k.Value]; dup {
			p.errAt(k, join(path, k.Value), "duplicate field (first at line %d)", m.keys[k.Value].Line)
			continue
		}
		m.add(k, v)
	}
	for _, src := range merges {
		list := []*yaml.Node{src}
		if src.Kind == yaml.SequenceNode {
			list = src.Content
		}
		for _, s := range list {
			s = resolve(s)
			if s.Kind != yaml.MappingNode {
				p.errAt(s, path, "merge key (<<) wants a mapping, got %s", describe(s))
				continue
			}
			for i := 0; i+1 < len(s.Content); i += 2 {
				if _, have := m.vals[s.Content[i].Value]; !have {
					m.add(s.Content[i], s.Content[i+1])
				}
			}
		}
	}
	return m
}

func (m *mapNode) add(k, v *yaml.Node) {
	m.order = append(m.order, k.Value)
	m.vals[k.Value] = resolve(v)
	m.keys[k.Value] = k
}

// get returns the value of key, or nil if absent, and marks key known.
func (m *mapNode) get(key string) *yaml.Node {
	m.known = append(m.known, key)
	return m.vals[key]
}

// has reports whether key is present, without marking it known.
func (m *mapNode) has(key string) bool {
	_, ok := m.vals[key]
	return ok
}

// require is get that reports a missing field at the mapping's line.
func (m *mapNode) require(key string) *yaml.Node {
	v := m.get(key)
	if v == nil {
		m.p.errAt(m.node, join(m.path, key), "missing required field")
	}
	return v
}

func (m *mapNode) field(key string) string { return join(m.path, key) }

// keyNode returns the node of key (for errors about the key itself).
func (m *mapNode) keyNode(key string) *yaml.Node { return m.keys[key] }

// done reports the keys that were never looked up.
func (m *mapNode) done() {
	seen := map[string]bool{}
	var want []string
	for _, k := range m.known {
		if !seen[k] {
			seen[k] = true
			want = append(want, k)
		}
	}
	for _, k := range m.order {
		if !seen[k] {
			m.p.errAt(m.keys[k], join(m.path, k), "unknown field (want one of %s)", strings.Join(want, ", "))
		}
	}
}

// seq opens n as a list; null is an empty list.
func (p *parser) seq(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, path, "want a list, got %s", describe(n))
		return nil, false
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out, true
}

func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errAt(n, path, "want a string, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// nonEmpty is str that also rejects "".
func (p *parser) nonEmpty(n *yaml.Node, path string) (string, bool) {
	s, ok := p.str(n, path)
	if ok && s == "" {
		p.errAt(n, path, "must not be empty")
		return "", false
	}
	return s, ok
}

func (p *parser) integer(n *yaml.Node, path string, min, max int64) (int64, bool) {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		p.errAt(n, path, "want an integer, got %s", describe(n))
		return 0, false
	}
	if v < min || v > max {
		if max == math.MaxInt64 || max == math.MaxInt32 {
			p.errAt(n, path, "must be at least %d, got %d", min, v)
		} else {
			p.errAt(n, path, "must be between %d and %d, got %d", min, max, v)
		}
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		p.errAt(n, path, "want true or false, got %s", describe(n))
		return false, false
	}
	return v, true
}

func (p *parser) number(n *yaml.Node, path string) (float64, bool) {
	var v float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.errAt(n, path, "want a number, got %s", describe(n))
		return 0, false
	}
	return v, true
}

// duration accepts a Go duration string ("1m30s") or a number of seconds.
func (p *parser) duration(n *yaml.Node, path string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) || n.ShortTag() == "!!bool" {
		p.errAt(n, path, "want a duration (e.g. 90s, 1m30s, 250ms, or a number of seconds), got %s", describe(n))
		return 0, false
	}
	d, err := parseDurationString(n.Value)
	if err != nil {
		p.errAt(n, path, "%v", err)
		return 0, false
	}
	return d, true
}

// parseDurationString parses a Go duration or a plain number of seconds; it
// rejects negative durations.
func parseDurationString(s string) (time.Duration, error) {
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXpP_") {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64/int64(time.Second)) {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		d = time.Duration(math.Round(f * float64(time.Second)))
	} else {
		var perr error
		d, perr = time.ParseDuration(s)
		if perr != nil {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 90s, 1m30s, 250ms, or a number of seconds)", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return d, nil
}

// quantity accepts a Kubernetes quantity ("500m", "16Gi", 4), not negative.
func (p *parser) quantity(n *yaml.Node, path string) (resource.Quantity, bool) {
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!str" && tag != "!!int" && tag != "!!float") {
		p.errAt(n, path, "want a quantity (e.g. 4, 500m, 16Gi), got %s", describe(n))
		return resource.Quantity{}, false
	}
	q, err := resource.ParseQuantity(n.Value)
	if err != nil {
		p.errAt(n, path, "invalid quantity %q (want e.g. 4, 500m, 16Gi)", n.Value)
		return resource.Quantity{}, false
	}
	if q.Sign() < 0 {
		p.errAt(n, path, "quantity %q must not be negative", n.Value)
		return resource.Quantity{}, false
	}
	return q, true
}

// stringMap reads a mapping of strings to strings, reporting each entry that
// fails check (which returns problems, like apimachinery's validators).
func (p *parser) stringMap(n *yaml.Node, path string, checkKey, checkValue func(string) []string) map[string]string {
	m := p.mapping(n, path)
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for _, k := range m.order {
		v := m.get(k)
		f := m.field(k)
		if msgs := checkKey(k); len(msgs) > 0 {
			p.errAt(m.keyNode(k), f, "invalid key: %s", strings.Join(msgs, "; "))
			continue
		}
		s, ok := p.str(v, f)
		if !ok {
			continue
		}
		if msgs := checkValue(s); len(msgs) > 0 {
			p.errAt(v, f, "invalid value %q: %s", s, strings.Join(msgs, "; "))
			continue
		}
		out[k] = s
	}
	return out
}
