package apiserver

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/store"
)

// Create stores a new object. The caller's object is not modified; the
// stored object (shared, immutable) is returned.
func (s *Server) Create(ctx context.Context, in api.Object, opts metav1.CreateOptions) (api.Object, error) {
	r, err := api.For(in)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	obj := in.DeepCopyObject().(api.Object)
	s.mu.Lock()
	defer s.mu.Unlock()

	if r.Namespaced {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(metav1.NamespaceDefault)
		}
		if err := s.checkNamespaceOpen(obj.GetNamespace()); err != nil {
			return nil, err
		}
	} else {
		obj.SetNamespace("")
	}
	if obj.GetResourceVersion() != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	generated := obj.GetName() == "" && obj.GetGenerateName() != ""
	// The storage key, the name and the UID share one allocation.
	key, name, uid := s.identity(r, obj.GetNamespace(), obj.GetName(), obj.GetGenerateName(), generated)
	obj.SetName(name)
	obj.SetUID(uid)
	obj.SetCreationTimestamp(s.now())
	obj.SetDeletionTimestamp(nil)
	obj.SetDeletionGracePeriodSeconds(nil)
	obj.SetManagedFields(nil)
	if r.HasGeneration {
		obj.SetGeneration(1)
	} else {
		obj.SetGeneration(0)
	}
	resetStatusOnCreate(obj)
	api.Default(obj)
	if err := s.admit(r, obj); err != nil {
		return nil, err
	}
	if errs := api.Validate(r, obj, nil); len(errs) > 0 {
		return nil, apierrors.NewInvalid(r.GVK().GroupKind(), obj.GetName(), errs)
	}
	release, err := s.allocate(obj)
	if err != nil {
		return nil, err
	}
	api.SetTypeMeta(obj)
	if opts.DryRun != nil && len(opts.DryRun) > 0 {
		release()
		return obj, nil
	}
	if p, ok := obj.(*corev1.Pod); ok {
		s.pods.share(p)
	}
	if _, err := s.store.Create(key, obj); err != nil {
		release()
		if errors.Is(err, store.ErrExists) && generated {
			// Kubernetes reports a generated-name clash as a retryable conflict.
			return nil, apierrors.NewServerTimeoutForKind(r.GVK().GroupKind(), "POST", 0)
		}
		return nil, storeError(err, r, obj.GetName())
	}
	return obj, nil
}

// resetStatusOnCreate drops client-supplied status where Kubernetes does:
// controllers and kubelets own status, users cannot preset it.
func resetStatusOnCreate(obj api.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Status = corev1.PodStatus{}
	case *appsv1.Deployment:
		o.Status = appsv1.DeploymentStatus{}
	case *appsv1.ReplicaSet:
		o.Status = appsv1.ReplicaSetStatus{}
	case *corev1.Service:
		o.Status = corev1.ServiceStatus{}
	case *corev1.Namespace:
		o.Status = corev1.NamespaceStatus{}
		// The namespace controller's finalizer: content is deleted before
		// the namespace goes. Finalizers the user gave are kept.
		has := false
		for _, f := range o.Spec.Finalizers {
			has = has || f == corev1.FinalizerKubernetes
		}
		if !has {
			o.Spec.Finalizers = append(o.Spec.Finalizers, corev1.FinalizerKubernetes)
		}
	}
}

func (s *Server) checkNamespaceOpen(ns string) error {
	key, cached := s.nsKeys[ns]
	if !cached {
		key = api.Namespaces.Key("", ns)
	}
	o, err := s.store.Get(key)
	if err != nil {
		return storeError(err, api.Namespaces, ns)
	}
	if !cached {
		s.nsKeys[ns] = key // only names of namespaces that existed: bounded
	}
	if o.(*corev1.Namespace).DeletionTimestamp != nil {
		return apierrors.NewForbidden(api.Namespaces.GroupResource(), ns,
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
	}
	return nil
}

// admit runs the admission plugins drydock implements: Priority and
// DefaultTolerationSeconds for pods.
func (s *Server) admit(r *api.Resource, obj api.Object) error {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	api.AddDefaultTolerations(&pod.Spec)
	return s.resolvePriority(pod)
}

// resolvePriority is the Priority admission plugin: spec.priority comes from
// the named PriorityClass, or the global default class, or zero.
func (s *Server) resolvePriority(pod *corev1.Pod) error {
	var pc *schedulingv1.PriorityClass
	if name := pod.Spec.PriorityClassName; name != "" {
		o, err := s.store.Get(api.PriorityClasses.Key("", name))
		if err != nil {
			return apierrors.NewForbidden(api.Pods.GroupResource(), pod.Name,
				fmt.Errorf("no PriorityClass with name %s was found", name))
		}
		pc = o.(*schedulingv1.PriorityClass)
	} else {
		objs, _, err := s.store.List(api.PriorityClasses.KeyPrefix(""))
		if err != nil {
			return apierrors.NewInternalError(err)
		}
		for _, o := range objs {
			if c := o.(*schedulingv1.PriorityClass); c.GlobalDefault && (pc == nil || c.Value > pc.Value) {
				pc = c
			}
		}
	}
	var value int32
	if pc != nil {
		value = pc.Value
		if pod.Spec.PriorityClassName == "" {
			pod.Spec.PriorityClassName = pc.Name
		}
		if pc.PreemptionPolicy != nil && pod.Spec.PreemptionPolicy == nil {
			p := *pc.PreemptionPolicy
			pod.Spec.PreemptionPolicy = &p
		}
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != value {
		return apierrors.NewForbidden(api.Pods.GroupResource(), pod.Name,
			fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, value))
	}
	pod.Spec.Priority = &value
	if pod.Spec.PreemptionPolicy == nil {
		p := corev1.PreemptLowerPriority
		pod.Spec.PreemptionPolicy = &p
	}
	return nil
}

// allocate gives a Service its ClusterIP and NodePorts. The returned
// function undoes the allocation if the write fails.
func (s *Server) allocate(obj api.Object) (func(), error) {
	svc, ok := obj.(*corev1.Service)
	if !ok || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return func() {}, nil
	}
	var ips []string
	var ports []int32
	release := func() {
		for _, ip := range ips {
			s.ips.release(ip)
		}
		for _, p := range ports {
			delete(s.ips.ports, p)
		}
	}
	invalid := func(p *field.Path, v any, msg string) error {
		release()
		return apierrors.NewInvalid(api.Services.GVK().GroupKind(), svc.Name, field.ErrorList{field.Invalid(p, v, msg)})
	}
	switch ip := svc.Spec.ClusterIP; ip {
	case corev1.ClusterIPNone:
	case "":
		got, err := s.ips.allocate(s.rand.IntN)
		if err != nil {
			return nil, invalid(field.NewPath("spec", "clusterIP"), "", err.Error())
		}
		ips = append(ips, got)
		svc.Spec.ClusterIP = got
	default:
		if err := s.ips.claim(ip); err != nil {
			return nil, invalid(field.NewPath("spec", "clusterIP"), ip, err.Error())
		}
		ips = append(ips, ip)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
		fam := corev1.IPv4Protocol
		svc.Spec.IPFamilies = []corev1.IPFamily{fam}
		pol := corev1.IPFamilyPolicySingleStack
		svc.Spec.IPFamilyPolicy = &pol
	}
	if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort == 0 {
				got, err := s.ips.allocatePort(s.rand.IntN)
				if err != nil {
					return nil, invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), 0, err.Error())
				}
				p.NodePort = got
			} else if s.ips.ports[p.NodePort] {
				return nil, invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), p.NodePort, "provided port is already allocated")
			} else {
				s.ips.ports[p.NodePort] = true
			}
			ports = append(ports, p.NodePort)
		}
	}
	return release, nil
}

// releaseService frees a deleted Service's addresses.
func (s *Server) releaseService(obj api.Object) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	s.ips.release(svc.Spec.ClusterIP)
	for _, p := range svc.Spec.Ports {
		delete(s.ips.ports, p.NodePort)
	}
}
