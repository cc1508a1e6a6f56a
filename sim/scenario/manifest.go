package scenario

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"
)

// manifestCodec decodes YAML into typed objects and, being strict, reports
// unknown and duplicate fields the way kubectl's --validate=strict does.
var manifestCodec = json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
	json.SerializerOptions{Yaml: true, Strict: true})

// source says where manifest text came from: the file errors name, the field
// path prefix (for inline manifests), and how a line of the text maps to a
// line of the file.
type source struct {
	file   string
	field  string
	lineOf func(textLine int) int
}

// rawDoc is one document of a multi-document YAML text.
type rawDoc struct {
	data []byte
	line int // line of the text on which the document starts
}

// splitDocuments splits YAML text at "---" lines the way kubectl does (a line
// starting with "---" followed by nothing but space or a comment), keeping
// each document's starting line so that errors can be placed in the file.
func splitDocuments(data []byte) []rawDoc {
	var docs []rawDoc
	start, startLine := 0, 1
	line := 1
	for pos := 0; pos < len(data); line++ {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		text := bytes.TrimRight(data[pos:next], "\r\n")
		if rest, ok := bytes.CutPrefix(text, []byte("---")); ok {
			rest = bytes.TrimSpace(rest)
			if len(rest) == 0 || rest[0] == '#' {
				docs = append(docs, rawDoc{data: data[start:pos], line: startLine})
				start, startLine = next, line+1
			}
		}
		pos = next
	}
	return append(docs, rawDoc{data: data[start:], line: startLine})
}

// manifestSource reads the file or inline field of m (an objects entry or an
// apply action) and decodes the manifests in it.
func (p *parser) manifestSource(m *mapNode, path string) []Manifest {
	f, in := m.get("file"), m.get("inline")
	switch {
	case f != nil && in != nil:
		p.errAt(m.keyNode("inline"), path, "give file or inline, not both")
	case f == nil && in == nil:
		p.errAt(m.node, path, "missing file or inline")
	case f != nil:
		ref, ok := p.nonEmpty(f, m.field("file"))
		if !ok {
			return nil
		}
		full := p.joinPath(p.file, ref)
		data, err := p.readFile(full)
		if err != nil {
			p.errAt(f, m.field("file"), "cannot read %s: %s", full, describeReadError(err))
			return nil
		}
		out, ok := p.decodeManifests(data, source{file: full, lineOf: func(l int) int { return l }})
		if ok && len(out) == 0 {
			p.errAt(f, m.field("file"), "no objects in %s", full)
		}
		return out
	default:
		text, ok := p.str(in, m.field("inline"))
		if !ok {
			return nil
		}
		// A literal block keeps lines one to one, starting on the line after
		// the "|"; other styles fold or escape lines, so pin to the value.
		base := in.Line
		lineOf := func(int) int { return base }
		if in.Style&yaml.LiteralStyle != 0 {
			lineOf = func(l int) int { return base + l }
		}
		out, ok := p.decodeManifests([]byte(text), source{file: p.file, field: m.field("inline"), lineOf: lineOf})
		if ok && len(out) == 0 {
			p.errAt(in, m.field("inline"), "no objects")
		}
		return out
	}
	return nil
}

// decodeManifests decodes every document of text; ok is false if any failed.
func (p *parser) decodeManifests(text []byte, src source) (out []Manifest, ok bool) {
	ok = true
	for _, doc := range splitDocuments(text) {
		mf, present, good := p.decodeManifest(doc, src)
		ok = ok && good
		if present && good {
			out = append(out, mf)
		}
	}
	return out, ok
}

// decodeManifest decodes one document. present is false for an empty document.
func (p *parser) decodeManifest(doc rawDoc, src source) (mf Manifest, present, ok bool) {
	lineOf := func(l int) int { return src.lineOf(doc.line + l - 1) }
	fail := func(n *yaml.Node, field, format string, args ...any) {
		line := 1
		if n != nil {
			line = n.Line
		}
		p.errorf(src.file, lineOf(line), join(src.field, field), format, args...)
	}
	var dn yaml.Node
	if err := yaml.Unmarshal(doc.data, &dn); err != nil {
		p.syntaxError(src.file, doc.data, lineOf, src.field, err)
		return mf, true, false
	}
	if len(dn.Content) == 0 || isNull(dn.Content[0]) {
		return mf, false, true
	}
	root := resolve(dn.Content[0])
	if root.Kind != yaml.MappingNode {
		fail(root, "", "a manifest must be a mapping, got %s", describe(root))
		return mf, true, false
	}
	if !p.noDuplicateKeys(root, "", lineOf, fail) {
		return mf, true, false
	}
	apiVersion, kind, good := p.typeMeta(root, fail)
	if !good {
		return mf, true, false
	}
	gvk := schema.FromAPIVersionAndKind(apiVersion, kind)
	if !scheme.Scheme.Recognizes(gvk) || !servedVersions[gvk.GroupVersion().String()] {
		field, msg := unknownKind(gvk)
		fail(findPath(root, field), field, "%s", msg)
		return mf, true, false
	}
	obj, _, err := manifestCodec.Decode(doc.data, nil, nil)
	if err != nil {
		p.decodeError(err, gvk, root, fail)
		return mf, true, false
	}
	mf = Manifest{Object: obj, GVK: gvk, File: src.file, Line: lineOf(root.Line)}
	return mf, true, p.checkObject(obj, gvk, root, fail)
}

type failFunc func(n *yaml.Node, field, format string, args ...any)

// noDuplicateKeys reports duplicate keys anywhere in the manifest; yaml.v3
// nodes keep them, and the strict decoder would name them without a line.
func (p *parser) noDuplicateKeys(n *yaml.Node, path string, lineOf func(int) int, fail failFunc) bool {
	ok := true
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if first, dup := seen[k.Value]; dup {
				fail(k, join(path, k.Value), "duplicate field (first at line %d)", lineOf(first))
				ok = false
				continue
			}
			seen[k.Value] = k.Line
			ok = p.noDuplicateKeys(n.Content[i+1], join(path, k.Value), lineOf, fail) && ok
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			ok = p.noDuplicateKeys(c, index(path, i), lineOf, fail) && ok
		}
	}
	return ok
}

// typeMeta reads apiVersion and kind, which must be non-empty strings.
func (p *parser) typeMeta(root *yaml.Node, fail failFunc) (apiVersion, kind string, ok bool) {
	ok = true
	for _, f := range []struct {
		key string
		dst *string
	}{{"apiVersion", &apiVersion}, {"kind", &kind}} {
		v := mapValue(root, f.key)
		switch {
		case v == nil:
			fail(root, f.key, "missing required field")
			ok = false
		case v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" || v.Value == "":
			fail(v, f.key, "want a non-empty string, got %s", describe(v))
			ok = false
		default:
			*f.dst = v.Value
		}
	}
	return apiVersion, kind, ok
}

// servedVersions are the API versions a current Kubernetes API server serves
// by default. client-go's scheme still knows long-removed versions (e.g.
// extensions/v1beta1 Deployments); a manifest in one of those would not apply
// to a real cluster, so it is rejected here too.
var servedVersions = map[string]bool{
	"v1": true, "apps/v1": true, "batch/v1": true, "autoscaling/v1": true, "autoscaling/v2": true,
	"policy/v1": true, "scheduling.k8s.io/v1": true, "networking.k8s.io/v1": true,
	"discovery.k8s.io/v1": true, "rbac.authorization.k8s.io/v1": true, "storage.k8s.io/v1": true,
	"coordination.k8s.io/v1": true, "node.k8s.io/v1": true, "events.k8s.io/v1": true,
	"certificates.k8s.io/v1": true, "admissionregistration.k8s.io/v1": true,
	"flowcontrol.apiserver.k8s.io/v1": true,
}

// unknownKind explains why gvk is not in the scheme: a wrong apiVersion or a
// wrong kind, with the versions that do serve the kind if there are any.
func unknownKind(gvk schema.GroupVersionKind) (field, msg string) {
	var servedIn []string
	for known := range scheme.Scheme.AllKnownTypes() {
		if known.Kind == gvk.Kind && servedVersions[known.GroupVersion().String()] {
			servedIn = append(servedIn, known.GroupVersion().String())
		}
	}
	sort.Strings(servedIn)
	if len(servedIn) > 0 {
		return "apiVersion", fmt.Sprintf("kind %s is not served by apiVersion %q (want %s)", gvk.Kind, gvk.GroupVersion().String(), strings.Join(servedIn, " or "))
	}
	if !servedVersions[gvk.GroupVersion().String()] {
		return "apiVersion", fmt.Sprintf("unknown apiVersion %q", gvk.GroupVersion().String())
	}
	return "kind", fmt.Sprintf("unknown kind %q in apiVersion %q", gvk.Kind, gvk.GroupVersion().String())
}

var (
	strictErrRE = regexp.MustCompile(`^(unknown|duplicate) field "(.*)"$`)
	typeErrRE   = regexp.MustCompile(`cannot unmarshal (\w+) into Go struct field \w+\.(\S+) of type (\S+)`)
)

// decodeError turns the codec's errors into located ones.
func (p *parser) decodeError(err error, gvk schema.GroupVersionKind, root *yaml.Node, fail failFunc) {
	if se, ok := runtime.AsStrictDecodingError(err); ok {
		for _, e := range se.Errors() {
			m := strictErrRE.FindStringSubmatch(e.Error())
			switch {
			case m == nil:
				fail(root, "", "%s", e.Error())
			case m[1] == "duplicate":
				// Already reported, with lines, by noDuplicateKeys.
			default:
				msg := "unknown field"
				if s := suggestField(gvk, m[2]); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				fail(findPath(root, m[2]), m[2], "%s", msg)
			}
		}
		return
	}
	msg := err.Error()
	if m := typeErrRE.FindStringSubmatch(msg); m != nil {
		fail(findPath(root, m[2]), m[2], "want %s, got %s", m[3], m[1])
		return
	}
	if strings.HasPrefix(msg, "quantities must match") {
		if n, path := findBadQuantity(root, ""); n != nil {
			fail(n, path, "invalid quantity %q (want e.g. 4, 500m, 16Gi)", n.Value)
			return
		}
	}
	fail(root, "", "%s", msg)
}

// quantityParents are the fields whose values are resource quantities.
var quantityParents = map[string]bool{
	"requests": true, "limits": true, "overhead": true, "hard": true, "capacity": true,
	"allocatable": true, "default": true, "defaultRequest": true, "min": true, "max": true,
	"maxLimitRequestRatio": true,
}

// findBadQuantity finds the first quantity that does not parse; the
// decoder's message does not say where it is.
func findBadQuantity(n *yaml.Node, path string) (*yaml.Node, string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			f := join(path, k)
			if (quantityParents[k] && v.Kind == yaml.MappingNode) || k == "sizeLimit" {
				cands := []*yaml.Node{v}
				names := []string{f}
				if v.Kind == yaml.MappingNode {
					cands, names = nil, nil
					for j := 0; j+1 < len(v.Content); j += 2 {
						cands = append(cands, v.Content[j+1])
						names = append(names, join(f, v.Content[j].Value))
					}
				}
				for j, c := range cands {
					if c.Kind == yaml.ScalarNode {
						if _, err := resource.ParseQuantity(c.Value); err != nil {
							return c, names[j]
						}
					}
				}
			}
			if bad, bp := findBadQuantity(v, f); bad != nil {
				return bad, bp
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if bad, bp := findBadQuantity(c, index(path, i)); bad != nil {
				return bad, bp
			}
		}
	}
	return nil, ""
}

// mapValue returns the value of key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

// mapKey returns the key node of key in mapping n, or nil.
func mapKey(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

// pathSegment is one step of a Kubernetes field path like "containers[0]".
type pathSegment struct {
	key     string
	indices []int
}

func parsePath(path string) []pathSegment {
	var segs []pathSegment
	for _, part := range strings.Split(path, ".") {
		seg := pathSegment{key: part}
		if i := strings.IndexByte(part, '['); i >= 0 {
			seg.key = part[:i]
			for _, idx := range strings.Split(strings.TrimSuffix(part[i+1:], "]"), "][") {
				if n, err := strconv.Atoi(idx); err == nil {
					seg.indices = append(seg.indices, n)
				}
			}
		}
		segs = append(segs, seg)
	}
	return segs
}

// findPath locates a Kubernetes field path in a manifest, returning the key
// node of the last field (or the deepest node reached, so that a line can
// always be given). Paths without indices (from type errors) search list
// elements for the first one that has the rest of the path.
func findPath(root *yaml.Node, path string) *yaml.Node {
	if path == "" {
		return root
	}
	n, _ := walk(root, parsePath(path))
	return n
}

func walk(n *yaml.Node, segs []pathSegment) (*yaml.Node, bool) {
	n = resolve(n)
	if len(segs) == 0 {
		return n, true
	}
	if n.Kind == yaml.SequenceNode {
		for _, c := range n.Content {
			if found, ok := walk(c, segs); ok {
				return found, true
			}
		}
		return n, false
	}
	seg := segs[0]
	key := mapKey(n, seg.key)
	if key == nil {
		return n, false
	}
	v := mapValue(n, seg.key)
	for _, i := range seg.indices {
		if v.Kind != yaml.SequenceNode || i >= len(v.Content) {
			return key, false
		}
		v = resolve(v.Content[i])
	}
	if len(segs) == 1 {
		if len(seg.indices) > 0 {
			return v, true
		}
		return key, true
	}
	if found, ok := walk(v, segs[1:]); ok {
		return found, true
	}
	return key, false
}

// checkObject applies the scenario's own rules to a decoded object.
func (p *parser) checkObject(obj runtime.Object, gvk schema.GroupVersionKind, root *yaml.Node, fail failFunc) bool {
	if gvk.Group == "" && gvk.Kind == "Node" {
		fail(root, "kind", "Node objects come from nodePools and cannot be applied")
		return false
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		fail(root, "kind", "%s objects have no metadata", gvk.Kind)
		return false
	}
	if acc.GetName() == "" && acc.GetGenerateName() == "" {
		md := mapKey(root, "metadata")
		if md == nil {
			md = root
		}
		fail(md, "metadata.name", "missing required field")
		return false
	}
	return p.checkSimAnnotations(obj, root, fail)
}
