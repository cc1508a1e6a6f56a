package api

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks a defaulted object the way the Kubernetes API server does for
// the fields drydock uses. old is nil on create.
func Validate(r *Resource, obj, old Object) field.ErrorList {
	nameFn, dnsLabel := apivalidation.NameIsDNSSubdomain, false
	switch r {
	case Namespaces, Services:
		nameFn, dnsLabel = apivalidation.NameIsDNSLabel, true
	}
	// apimachinery's checks run only when the fast ones (metafast.go) do
	// not prove that they would report nothing; they then give the errors.
	var errs field.ErrorList
	if !metaCreateValid(obj, r.Namespaced, dnsLabel) {
		errs = apivalidation.ValidateObjectMetaAccessor(obj, r.Namespaced, nameFn, field.NewPath("metadata"))
	}
	if old != nil && !metaUpdateValid(obj, old) {
		errs = append(errs, apivalidation.ValidateObjectMetaAccessorUpdate(obj, old, field.NewPath("metadata"))...)
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		errs = append(errs, ValidatePodSpec(&o.Spec, field.NewPath("spec"))...)
		if old != nil {
			errs = append(errs, validatePodUpdate(o, old.(*corev1.Pod))...)
		}
	case *appsv1.ReplicaSet:
		errs = append(errs, validateReplicas(o.Spec.Replicas, field.NewPath("spec", "replicas"))...)
		errs = append(errs, validateSelectorAndTemplate(o.Spec.Selector, &o.Spec.Template, field.NewPath("spec"))...)
	case *appsv1.Deployment:
		errs = append(errs, validateDeployment(o)...)
		if old != nil {
			errs = append(errs, apivalidation.ValidateImmutableField(o.Spec.Selector, old.(*appsv1.Deployment).Spec.Selector, field.NewPath("spec", "selector"))...)
		}
	case *corev1.Service:
		errs = append(errs, validateService(o)...)
	case *corev1.Node:
		errs = append(errs, validateNode(o)...)
	case *coordinationv1.Lease:
		if d := o.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
			errs = append(errs, field.Invalid(field.NewPath("spec", "leaseDurationSeconds"), *d, "must be greater than 0"))
		}
	case *schedulingv1.PriorityClass:
		if o.Value > 1000000000 && !isSystemPriorityClass(o.Name) {
			errs = append(errs, field.Forbidden(field.NewPath("value"), "maximum allowed value of a user defined priority is 1000000000"))
		}
		if old != nil && old.(*schedulingv1.PriorityClass).Value != o.Value {
			errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
		}
	case *corev1.Event:
		if o.InvolvedObject.Kind == "" {
			errs = append(errs, field.Required(field.NewPath("involvedObject", "kind"), ""))
		}
	}
	return errs
}

func isSystemPriorityClass(name string) bool {
	return name == "system-cluster-critical" || name == "system-node-critical"
}

func validateReplicas(r *int32, p *field.Path) field.ErrorList {
	if r != nil && *r < 0 {
		return field.ErrorList{field.Invalid(p, *r, "must be greater than or equal to 0")}
	}
	return nil
}

func validateSelectorAndTemplate(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sel == nil {
		return append(errs, field.Required(p.Child("selector"), ""))
	}
	errs = append(errs, metavalidation.ValidateLabelSelector(sel, metavalidation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(p.Child("selector"), sel, "empty selector is invalid for deployment"))
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err == nil && !s.Matches(labels.Set(tmpl.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), tmpl.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, metavalidation.ValidateLabels(tmpl.Labels, p.Child("template", "metadata", "labels"))...)
	errs = append(errs, ValidatePodSpec(&tmpl.Spec, p.Child("template", "spec"))...)
	return errs
}

func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	p := field.NewPath("spec")
	errs := validateReplicas(d.Spec.Replicas, p.Child("replicas"))
	errs = append(errs, validateSelectorAndTemplate(d.Spec.Selector, &d.Spec.Template, p)...)
	if rp := d.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(p.Child("template", "spec", "restartPolicy"), rp, []string{string(corev1.RestartPolicyAlways)}))
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if d.Spec.Strategy.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(p.Child("strategy", "rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		ru := d.Spec.Strategy.RollingUpdate
		rp := p.Child("strategy", "rollingUpdate")
		errs = append(errs, validateIntOrPercent(ru.MaxSurge, rp.Child("maxSurge"))...)
		errs = append(errs, validateIntOrPercent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
		if isZero(ru.MaxSurge) && isZero(ru.MaxUnavailable) {
			errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), ru.MaxUnavailable.String(), "may not be 0 when `maxSurge` is 0"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("strategy", "type"), d.Spec.Strategy.Type,
			[]string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)}))
	}
	if d.Spec.MinReadySeconds < 0 {
		errs = append(errs, field.Invalid(p.Child("minReadySeconds"), d.Spec.MinReadySeconds, "must be greater than or equal to 0"))
	}
	if pd := d.Spec.ProgressDeadlineSeconds; pd != nil && *pd <= d.Spec.MinReadySeconds {
		errs = append(errs, field.Invalid(p.Child("progressDeadlineSeconds"), *pd, "must be greater than minReadySeconds"))
	}
	return errs
}

func isZero(v *intstr.IntOrString) bool {
	if v == nil {
		return true
	}
	if v.Type == intstr.Int {
		return v.IntVal == 0
	}
	return v.StrVal == "0%" || v.StrVal == "0"
}

func validateIntOrPercent(v *intstr.IntOrString, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	if v.Type == intstr.Int {
		if v.IntVal < 0 {
			return field.ErrorList{field.Invalid(p, v.IntVal, "must be greater than or equal to 0")}
		}
		return nil
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, 100, false)
	if err != nil || len(v.StrVal) < 2 || v.StrVal[len(v.StrVal)-1] != '%' {
		return field.ErrorList{field.Invalid(p, v.StrVal, "a valid percent string must be a numeric string followed by an ending '%'")}
	}
	if n < 0 || n > 100 {
		return field.ErrorList{field.Invalid(p, v.StrVal, "must not be greater than 100%")}
	}
	return nil
}

// ValidatePodSpec checks containers, restart policy, resources, tolerations and probes.
func ValidatePodSpec(s *corev1.PodSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.Containers) == 0 {
		errs = append(errs, field.Required(p.Child("containers"), ""))
	}
	names := sets.New[string]()
	check := func(cs []corev1.Container, cp *field.Path) {
		for i := range cs {
			c := &cs[i]
			ip := cp.Index(i)
			if c.Name == "" {
				errs = append(errs, field.Required(ip.Child("name"), ""))
			} else {
				for _, msg := range validation.IsDNS1123Label(c.Name) {
					errs = append(errs, field.Invalid(ip.Child("name"), c.Name, msg))
				}
				if names.Has(c.Name) {
					errs = append(errs, field.Duplicate(ip.Child("name"), c.Name))
				}
				names.Insert(c.Name)
			}
			if c.Image == "" {
				errs = append(errs, field.Required(ip.Child("image"), ""))
			}
			for name, q := range c.Resources.Requests {
				if q.Sign() < 0 {
					errs = append(errs, field.Invalid(ip.Child("resources", "requests").Key(string(name)), q.String(), "must be greater than or equal to 0"))
				}
				if l, ok := c.Resources.Limits[name]; ok && q.Cmp(l) > 0 {
					errs = append(errs, field.Invalid(ip.Child("resources", "requests").Key(string(name)), q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, l.String())))
				}
			}
			for j, port := range c.Ports {
				if port.ContainerPort < 1 || port.ContainerPort > 65535 {
					errs = append(errs, field.Invalid(ip.Child("ports").Index(j).Child("containerPort"), port.ContainerPort, "must be between 1 and 65535, inclusive"))
				}
			}
			for _, pr := range []struct {
				probe *corev1.Probe
				name  string
			}{{c.LivenessProbe, "livenessProbe"}, {c.ReadinessProbe, "readinessProbe"}, {c.StartupProbe, "startupProbe"}} {
				if pr.probe != nil && pr.probe.Exec == nil && pr.probe.HTTPGet == nil && pr.probe.TCPSocket == nil && pr.probe.GRPC == nil {
					errs = append(errs, field.Required(ip.Child(pr.name), "must specify a handler type"))
				}
			}
		}
	}
	check(s.InitContainers, p.Child("initContainers"))
	check(s.Containers, p.Child("containers"))
	switch s.RestartPolicy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	default:
		errs = append(errs, field.NotSupported(p.Child("restartPolicy"), s.RestartPolicy,
			[]string{string(corev1.RestartPolicyAlways), string(corev1.RestartPolicyOnFailure), string(corev1.RestartPolicyNever)}))
	}
	for i, t := range s.Tolerations {
		tp := p.Child("tolerations").Index(i)
		switch t.Operator {
		case corev1.TolerationOpEqual, corev1.TolerationOpExists, "":
		default:
			errs = append(errs, field.NotSupported(tp.Child("operator"), t.Operator, []string{"Equal", "Exists"}))
		}
		if t.Operator == corev1.TolerationOpExists && t.Value != "" {
			errs = append(errs, field.Invalid(tp.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(tp.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
	}
	if g := s.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *g, "must be greater than or equal to 0"))
	}
	for i, c := range s.TopologySpreadConstraints {
		cp := p.Child("topologySpreadConstraints").Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(cp.Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(cp.Child("topologyKey"), "can not be empty"))
		}
		switch c.WhenUnsatisfiable {
		case corev1.DoNotSchedule, corev1.ScheduleAnyway:
		default:
			errs = append(errs, field.NotSupported(cp.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, []string{"DoNotSchedule", "ScheduleAnyway"}))
		}
	}
	return errs
}

// validatePodUpdate enforces that a pod's spec is immutable apart from the
// fields Kubernetes allows to change (container images, activeDeadlineSeconds,
// tolerations additions).
func validatePodUpdate(n, o *corev1.Pod) field.ErrorList {
	a, b := n.Spec.DeepCopy(), o.Spec.DeepCopy()
	for i := range a.Containers {
		if i < len(b.Containers) {
			a.Containers[i].Image = b.Containers[i].Image
		}
	}
	a.ActiveDeadlineSeconds = b.ActiveDeadlineSeconds
	a.Tolerations = b.Tolerations
	if b.NodeName == "" {
		a.NodeName = "" // binding sets nodeName through the binding subresource
	}
	if !equalJSON(a, b) {
		return field.ErrorList{field.Forbidden(field.NewPath("spec"), "pod updates may not change fields other than `spec.containers[*].image`, `spec.activeDeadlineSeconds` or `spec.tolerations` (only additions to existing tolerations)")}
	}
	return nil
}

func validateService(s *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	switch s.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName:
		// Accepted, served as ClusterIP (no cloud load balancer or DNS here).
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), s.Spec.Type, []string{"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}))
	}
	if len(s.Spec.Ports) == 0 && s.Spec.ClusterIP != corev1.ClusterIPNone && s.Spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(p.Child("ports"), ""))
	}
	names := sets.New[string]()
	for i, port := range s.Spec.Ports {
		pp := p.Child("ports").Index(i)
		if len(s.Spec.Ports) > 1 && port.Name == "" {
			errs = append(errs, field.Required(pp.Child("name"), ""))
		}
		if port.Name != "" {
			if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
			}
			names.Insert(port.Name)
		}
		if port.Port < 1 || port.Port > 65535 {
			errs = append(errs, field.Invalid(pp.Child("port"), port.Port, "must be between 1 and 65535, inclusive"))
		}
		switch port.Protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			errs = append(errs, field.NotSupported(pp.Child("protocol"), port.Protocol, []string{"SCTP", "TCP", "UDP"}))
		}
		if port.NodePort != 0 && (port.NodePort < 30000 || port.NodePort > 32767) {
			errs = append(errs, field.Invalid(pp.Child("nodePort"), port.NodePort, "provided port is not in the valid range. The range of valid ports is 30000-32767"))
		}
	}
	errs = append(errs, metavalidation.ValidateLabels(s.Spec.Selector, p.Child("selector"))...)
	return errs
}

func validateNode(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for i, t := range n.Spec.Taints {
		tp := field.NewPath("spec", "taints").Index(i)
		for _, msg := range validation.IsQualifiedName(t.Key) {
			errs = append(errs, field.Invalid(tp.Child("key"), t.Key, msg))
		}
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			errs = append(errs, field.NotSupported(tp.Child("effect"), t.Effect, []string{"NoExecute", "NoSchedule", "PreferNoSchedule"}))
		}
	}
	return errs
}
