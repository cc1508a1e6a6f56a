package apihttp

import (
	"encoding/json"
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/real/auth"
)

var (
	bindingGVK  = corev1.SchemeGroupVersion.WithKind("Binding")
	evictionGVK = policyv1.SchemeGroupVersion.WithKind("Eviction")
	scaleGVK    = autoscalingv1.SchemeGroupVersion.WithKind("Scale")
)

// bind serves POST pods/{name}/binding.
func (h *handler) bind(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	obj, _, derr := decodeFor(req, info, bindingGVK, func() runtime.Object { return &corev1.Binding{} }, false)
	if err := h.authorizeObject(req.Context(), user, info, obj); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	b := obj.(*corev1.Binding)
	if b.Name != info.name {
		return apierrors.NewBadRequest("name in URL does not match name in Binding object")
	}
	if err := h.cfg.Server.Bind(req.Context(), b); err != nil {
		return err
	}
	writeObject(w, http.StatusCreated, successStatus(http.StatusCreated, nil), output{})
	return nil
}

// evict serves POST pods/{name}/eviction (policy/v1 Eviction): 201 with a
// Success Status, or the refusal (429 TooManyRequests) the core returns.
func (h *handler) evict(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	obj, _, derr := decodeFor(req, info, evictionGVK, func() runtime.Object { return &policyv1.Eviction{} }, false)
	if err := h.authorizeObject(req.Context(), user, info, obj); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	e := obj.(*policyv1.Eviction)
	if e.Name != info.name {
		return apierrors.NewBadRequest("name in URL does not match name in Eviction object")
	}
	pod, err := h.nodePod(req.Context(), user, info, "evict")
	if err != nil {
		return err
	}
	if pod != nil {
		// Evict the pod that was checked, not one created since under the
		// same name (see nodePod).
		if e.DeleteOptions == nil {
			e.DeleteOptions = &metav1.DeleteOptions{}
		}
		if e.DeleteOptions.Preconditions == nil {
			e.DeleteOptions.Preconditions = &metav1.Preconditions{}
		}
		if e.DeleteOptions.Preconditions.UID == nil {
			e.DeleteOptions.Preconditions.UID = &pod.UID
		}
	}
	if err := h.cfg.Server.Evict(req.Context(), e); err != nil {
		return err
	}
	writeObject(w, http.StatusCreated, successStatus(http.StatusCreated, nil), output{})
	return nil
}

// scaleOf is the autoscaling/v1 Scale view of a Deployment or ReplicaSet.
func scaleOf(obj api.Object) (*autoscalingv1.Scale, error) {
	var replicas, current int32 = 1, 0
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o.Spec.Replicas != nil {
			replicas = *o.Spec.Replicas
		}
		current, sel = o.Status.Replicas, o.Spec.Selector
	case *appsv1.ReplicaSet:
		if o.Spec.Replicas != nil {
			replicas = *o.Spec.Replicas
		}
		current, sel = o.Status.Replicas, o.Spec.Selector
	default:
		return nil, apierrors.NewInternalError(fmt.Errorf("no scale subresource for %T", obj))
	}
	selector := ""
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		selector = s.String()
	}
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{Kind: "Scale", APIVersion: autoscalingv1.SchemeGroupVersion.String()},
		ObjectMeta: metav1.ObjectMeta{Name: obj.GetName(), Namespace: obj.GetNamespace(), UID: obj.GetUID(),
			ResourceVersion: obj.GetResourceVersion(), CreationTimestamp: obj.GetCreationTimestamp()},
		Spec:   autoscalingv1.ScaleSpec{Replicas: replicas},
		Status: autoscalingv1.ScaleStatus{Replicas: current, Selector: selector},
	}, nil
}

// withReplicas returns a copy of a Deployment or ReplicaSet with n replicas.
func withReplicas(obj api.Object, n int32) api.Object {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		c := o.DeepCopy()
		c.Spec.Replicas = &n
		return c
	case *appsv1.ReplicaSet:
		c := o.DeepCopy()
		c.Spec.Replicas = &n
		return c
	}
	return obj
}

func (h *handler) getScale(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	if err := h.authorize(req.Context(), user, info, "get"); err != nil {
		return err
	}
	obj, err := h.cfg.Server.Get(req.Context(), info.r, info.ns, info.name)
	if err != nil {
		return err
	}
	s, err := scaleOf(obj)
	if err != nil {
		return err
	}
	writeObject(w, http.StatusOK, s, output{})
	return nil
}

// scaleTo writes the replicas of want to the scaled object (or, with
// dryRun=All, answers what the write would give and writes nothing).
// Without a resourceVersion in want the write is retried on conflicts, as
// kube-apiserver's scale update is unconditional then.
func (h *handler) scaleTo(req *http.Request, info *requestInfo, want *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	if want.Spec.Replicas < 0 {
		return nil, apierrors.NewInvalid(schema.GroupKind{Group: "autoscaling", Kind: "Scale"}, info.name, field.ErrorList{
			field.Invalid(field.NewPath("spec", "replicas"), want.Spec.Replicas, "must be greater than or equal to 0")})
	}
	dry, err := dryRun(req)
	if err != nil {
		return nil, err
	}
	var opts metav1.UpdateOptions
	if dry {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for attempt := 0; ; attempt++ {
		cur, err := h.cfg.Server.Get(req.Context(), info.r, info.ns, info.name)
		if err != nil {
			return nil, err
		}
		if want.UID != "" && want.UID != cur.GetUID() {
			return nil, apierrors.NewConflict(info.r.GroupResource(), info.name,
				fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", want.UID, cur.GetUID()))
		}
		if want.ResourceVersion != "" && want.ResourceVersion != cur.GetResourceVersion() {
			return nil, apierrors.NewConflict(info.r.GroupResource(), info.name,
				fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		}
		updated, err := h.cfg.Server.UpdateWithOptions(req.Context(), withReplicas(cur, want.Spec.Replicas), "", opts)
		if apierrors.IsConflict(err) && want.ResourceVersion == "" && attempt < 10 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return scaleOf(updated)
	}
}

func (h *handler) updateScale(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	obj, warnings, derr := decodeFor(req, info, scaleGVK, func() runtime.Object { return &autoscalingv1.Scale{} }, true)
	if err := h.authorizeObject(req.Context(), user, info, obj); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	s, err := h.scaleTo(req, info, obj.(*autoscalingv1.Scale))
	if err != nil {
		return err
	}
	addWarnings(w, warnings)
	writeObject(w, http.StatusOK, s, output{})
	return nil
}

// patchScale applies the patch to the Scale view (as kube-apiserver does)
// and writes the resulting replicas.
func (h *handler) patchScale(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	pt, data, fv, err := h.readPatch(req, info, user)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		obj, err := h.cfg.Server.Get(req.Context(), info.r, info.ns, info.name)
		if err != nil {
			return err
		}
		cur, err := scaleOf(obj)
		if err != nil {
			return err
		}
		orig, err := json.Marshal(cur)
		if err != nil {
			return apierrors.NewInternalError(err)
		}
		patched, err := applyPatch(pt, orig, data, &autoscalingv1.Scale{})
		if err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("the patch could not be applied: %v", err))
		}
		want := &autoscalingv1.Scale{}
		var warnings []string
		if _, _, err := jsonStrict.Decode(patched, nil, want); err != nil {
			if !runtime.IsStrictDecodingError(err) || fv == validationStrict {
				return apierrors.NewBadRequest(err.Error())
			}
			if fv == validationWarn {
				warnings = strictMessages(err)
			}
		}
		if want.Name != info.name {
			return apierrors.NewBadRequest("the patch may not change the object's name")
		}
		pinned := want.ResourceVersion != cur.ResourceVersion
		if !pinned {
			// The patch did not ask for a resourceVersion: retry on
			// conflicts against the newest object.
			want.ResourceVersion = ""
		}
		s, err := h.scaleTo(req, info, want)
		if apierrors.IsConflict(err) && !pinned && attempt < 10 {
			continue
		}
		if err != nil {
			return err
		}
		addWarnings(w, warnings)
		writeObject(w, http.StatusOK, s, output{})
		return nil
	}
}
