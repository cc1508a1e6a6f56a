package framework

import (
	"errors"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// AffinityTerm is a parsed pod (anti-)affinity term: which pods it selects
// (namespaces plus label selector) and over which topology key.
type AffinityTerm struct {
	// Namespaces are the namespaces listed in the term, or the pod's own
	// namespace when the term names none and has no namespace selector.
	Namespaces []string
	// NamespaceSelector selects further namespaces (labels.Nothing when the
	// term has none; labels.Everything for an empty selector, i.e. all
	// namespaces).
	NamespaceSelector labels.Selector
	Selector          labels.Selector
	TopologyKey       string
}

// WeightedAffinityTerm is a preferred term with its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// AffinityInfo is a pod's pod affinity and anti-affinity, parsed once when
// its PodInfo is built so that filtering and scoring never parse selectors.
type AffinityInfo struct {
	RequiredAffinity      []AffinityTerm
	RequiredAntiAffinity  []AffinityTerm
	PreferredAffinity     []WeightedAffinityTerm
	PreferredAntiAffinity []WeightedAffinityTerm
	// Err is the first parse error; terms that failed to parse are left
	// out (an incoming pod with an error is rejected as an internal error,
	// as kube-scheduler does).
	Err error
}

// namespaceLabels is the label set the scheduler assumes for a namespace.
// The scheduler watches no Namespace objects, so a namespaceSelector is
// matched against the one label Kubernetes puts on every namespace,
// kubernetes.io/metadata.name. It implements labels.Labels without
// allocating.
type namespaceLabels string

// LabelMetadataName is the label every namespace carries with its name.
const LabelMetadataName = "kubernetes.io/metadata.name"

func (n namespaceLabels) Has(key string) bool { return key == LabelMetadataName }

func (n namespaceLabels) Get(key string) string {
	if key == LabelMetadataName {
		return string(n)
	}
	return ""
}

func (n namespaceLabels) Lookup(key string) (string, bool) {
	if key == LabelMetadataName {
		return string(n), true
	}
	return "", false
}

// Matches reports whether pod is selected by the term: it lives in one of
// the term's namespaces (by name or by namespace selector) and its labels
// match the label selector.
func (t *AffinityTerm) Matches(pod *corev1.Pod) bool {
	if !t.MatchesNamespace(pod.Namespace) {
		return false
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}

// MatchesNamespace reports whether the term covers namespace ns.
func (t *AffinityTerm) MatchesNamespace(ns string) bool {
	for _, n := range t.Namespaces {
		if n == ns {
			return true
		}
	}
	return t.NamespaceSelector.Matches(namespaceLabels(ns))
}

// MatchesAll reports whether pod matches every term (and true for none).
func MatchesAll(terms []AffinityTerm, pod *corev1.Pod) bool {
	for i := range terms {
		if !terms[i].Matches(pod) {
			return false
		}
	}
	return true
}

// HasRequired reports whether the pod has required affinity or
// anti-affinity terms of its own.
func (a *AffinityInfo) HasRequired() bool {
	return a != nil && (len(a.RequiredAffinity) > 0 || len(a.RequiredAntiAffinity) > 0)
}

// HasPreferred reports whether the pod has preferred terms of its own.
func (a *AffinityInfo) HasPreferred() bool {
	return a != nil && (len(a.PreferredAffinity) > 0 || len(a.PreferredAntiAffinity) > 0)
}

// newAffinityInfo parses the pod's pod affinity and anti-affinity, nil when
// it has neither.
func newAffinityInfo(pod *corev1.Pod) *AffinityInfo {
	a := pod.Spec.Affinity
	if a == nil || (a.PodAffinity == nil && a.PodAntiAffinity == nil) {
		return nil
	}
	info := &AffinityInfo{}
	if pa := a.PodAffinity; pa != nil {
		info.RequiredAffinity = parseTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution, &info.Err)
		info.PreferredAffinity = parseWeighted(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution, &info.Err)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		info.RequiredAntiAffinity = parseTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution, &info.Err)
		info.PreferredAntiAffinity = parseWeighted(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution, &info.Err)
	}
	return info
}

func parseTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm, errp *error) []AffinityTerm {
	var out []AffinityTerm
	for i := range terms {
		t, err := parseTerm(pod, &terms[i])
		if err != nil {
			*errp = errors.Join(*errp, err)
			continue
		}
		out = append(out, t)
	}
	return out
}

func parseWeighted(pod *corev1.Pod, terms []corev1.WeightedPodAffinityTerm, errp *error) []WeightedAffinityTerm {
	var out []WeightedAffinityTerm
	for i := range terms {
		t, err := parseTerm(pod, &terms[i].PodAffinityTerm)
		if err != nil {
			*errp = errors.Join(*errp, err)
			continue
		}
		out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: terms[i].Weight})
	}
	return out
}

// parseTerm follows Kubernetes: a nil label selector selects nothing, an
// empty one everything; with neither namespaces nor a namespace selector
// the term covers the pod's own namespace. matchLabelKeys and
// mismatchLabelKeys (which Kubernetes' API server folds into the selector
// at pod creation) are folded in here: key in / not in the pod's value.
// Folding twice gives the same selector, so pods whose selector already
// carries them are unaffected.
func parseTerm(pod *corev1.Pod, t *corev1.PodAffinityTerm) (AffinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
	if err != nil {
		return AffinityTerm{}, err
	}
	if t.LabelSelector != nil {
		for _, keys := range []struct {
			keys []string
			op   selection.Operator
		}{{t.MatchLabelKeys, selection.In}, {t.MismatchLabelKeys, selection.NotIn}} {
			for _, k := range keys.keys {
				v, ok := pod.Labels[k]
				if !ok {
					continue
				}
				r, err := labels.NewRequirement(k, keys.op, []string{v})
				if err != nil {
					return AffinityTerm{}, err
				}
				sel = sel.Add(*r)
			}
		}
	}
	nsSel, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
	if err != nil {
		return AffinityTerm{}, err
	}
	namespaces := t.Namespaces
	if len(namespaces) == 0 && t.NamespaceSelector == nil {
		namespaces = []string{pod.Namespace}
	}
	return AffinityTerm{Namespaces: namespaces, NamespaceSelector: nsSel, Selector: sel, TopologyKey: t.TopologyKey}, nil
}
