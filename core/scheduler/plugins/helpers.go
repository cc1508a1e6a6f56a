package plugins

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// tolerates reports whether tol tolerates taint, following Kubernetes: an
// empty effect matches every effect, an empty key with Exists matches every
// key, Exists matches any value, Equal (or empty) needs equal values. The
// numeric Lt/Gt operators sit behind a Kubernetes feature gate that is off
// by default, so they match nothing here.
func tolerates(tol *corev1.Toleration, taint *corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case "", corev1.TolerationOpEqual:
		return tol.Value == taint.Value
	case corev1.TolerationOpExists:
		return true
	}
	return false
}

// toleratesAny reports whether any of tols tolerates taint.
func toleratesAny(tols []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tols {
		if tolerates(&tols[i], taint) {
			return true
		}
	}
	return false
}

// nodeSelectorTermsMatch reports whether any term matches (OR of terms).
func nodeSelectorTermsMatch(terms []corev1.NodeSelectorTerm, labels map[string]string, name string) bool {
	for i := range terms {
		if nodeSelectorTermMatches(&terms[i], labels, name) {
			return true
		}
	}
	return false
}

// nodeSelectorTermMatches ANDs a term's requirements; a term with none
// matches nothing, and an invalid requirement fails the term, as in
// Kubernetes.
func nodeSelectorTermMatches(t *corev1.NodeSelectorTerm, labels map[string]string, name string) bool {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return false
	}
	for i := range t.MatchExpressions {
		r := &t.MatchExpressions[i]
		v, ok := labels[r.Key]
		if !requirementMatches(r, v, ok) {
			return false
		}
	}
	for i := range t.MatchFields {
		r := &t.MatchFields[i]
		if r.Key != "metadata.name" {
			return false
		}
		if r.Operator != corev1.NodeSelectorOpIn && r.Operator != corev1.NodeSelectorOpNotIn {
			return false
		}
		if !requirementMatches(r, name, true) {
			return false
		}
	}
	return true
}

func requirementMatches(r *corev1.NodeSelectorRequirement, v string, present bool) bool {
	switch r.Operator {
	case corev1.NodeSelectorOpIn:
		return present && contains(r.Values, v)
	case corev1.NodeSelectorOpNotIn:
		return !present || !contains(r.Values, v)
	case corev1.NodeSelectorOpExists:
		return present
	case corev1.NodeSelectorOpDoesNotExist:
		return !present
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !present || len(r.Values) != 1 {
			return false
		}
		want, err := strconv.ParseInt(r.Values[0], 10, 64)
		if err != nil {
			return false
		}
		got, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		if r.Operator == corev1.NodeSelectorOpGt {
			return got > want
		}
		return got < want
	}
	return false
}

func contains(values []string, v string) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}

// selectorMatches reports whether labels has every key/value of sel
// (spec.nodeSelector semantics).
func selectorMatches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if lv, ok := labels[k]; !ok || lv != v {
			return false
		}
	}
	return true
}

// requiredNodeAffinity is the pod's hard node constraints, matched against
// a node by nodeSelector and required node affinity together.
type requiredNodeAffinity struct {
	selector map[string]string
	terms    []corev1.NodeSelectorTerm
	hasTerms bool
}

func newRequiredNodeAffinity(pod *corev1.Pod) requiredNodeAffinity {
	r := requiredNodeAffinity{selector: pod.Spec.NodeSelector}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		r.terms = a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		r.hasTerms = true
	}
	return r
}

func (r *requiredNodeAffinity) empty() bool { return len(r.selector) == 0 && !r.hasTerms }

func (r *requiredNodeAffinity) matches(ni *framework.NodeInfo) bool {
	if len(r.selector) > 0 && !selectorMatches(r.selector, ni.Labels) {
		return false
	}
	if r.hasTerms && !nodeSelectorTermsMatch(r.terms, ni.Labels, ni.Name) {
		return false
	}
	return true
}

// defaultNormalize rescales scores to [0, MaxNodeScore] by the maximum, and
// reverses them if asked (so that fewer bad things score higher), the way
// kube-scheduler's DefaultNormalizeScore does.
func defaultNormalize(scores []int64, reverse bool) {
	var maxCount int64
	for _, s := range scores {
		maxCount = max(maxCount, s)
	}
	if maxCount == 0 {
		if reverse {
			for i := range scores {
				scores[i] = framework.MaxNodeScore
			}
		}
		return
	}
	for i, s := range scores {
		s = framework.MaxNodeScore * s / maxCount
		if reverse {
			s = framework.MaxNodeScore - s
		}
		scores[i] = s
	}
}
