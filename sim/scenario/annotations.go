package scenario

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Simulated container behaviour is set with annotations on the pod (in a
// Deployment: on spec.template.metadata). Each key applies to every container
// of the pod; the key followed by "." and a container name applies to that
// container only and wins over the pod-wide key, e.g.
// "sim.drydock.io/exit-after.sidecar". Values are Go durations ("20s") or, for
// exit-code, an integer 0..255. The simulated runtime reads them with
// ContainerBehavior; the parser rejects unknown sim.drydock.io keys and bad
// values in manifests.
const (
	// AnnotationPrefix starts every simulator annotation.
	AnnotationPrefix = "sim.drydock.io/"
	// AnnotationExitAfter: the container's process exits this long after it
	// started. Without it the process runs until it is stopped.
	AnnotationExitAfter = AnnotationPrefix + "exit-after"
	// AnnotationExitCode: the exit code of an exit-after exit (default 0).
	AnnotationExitCode = AnnotationPrefix + "exit-code"
	// AnnotationReadyAfter: the readiness probe starts succeeding this long
	// after the container started (default 0). Without a readinessProbe the
	// container is ready as soon as it runs, as in Kubernetes.
	AnnotationReadyAfter = AnnotationPrefix + "ready-after"
	// AnnotationFailReadinessAfter: the readiness probe fails from this long
	// after start on (the app goes unhealthy but keeps running).
	AnnotationFailReadinessAfter = AnnotationPrefix + "fail-readiness-after"
	// AnnotationFailLivenessAfter: the liveness probe fails from this long
	// after start on, so the kubelet kills and restarts the container. Only
	// has an effect with a livenessProbe.
	AnnotationFailLivenessAfter = AnnotationPrefix + "fail-liveness-after"
	// AnnotationStopAfter: how long the process takes to exit after SIGTERM
	// (default 0). If longer than the pod's terminationGracePeriodSeconds the
	// kubelet kills it at the end of the grace period.
	AnnotationStopAfter = AnnotationPrefix + "stop-after"
)

// behaviorKeys lists every simulator annotation, for error messages.
var behaviorKeys = []string{
	AnnotationExitAfter, AnnotationExitCode, AnnotationReadyAfter,
	AnnotationFailReadinessAfter, AnnotationFailLivenessAfter, AnnotationStopAfter,
}

// Behavior is how a simulated container behaves, resolved from annotations.
type Behavior struct {
	Exits     bool          // exit-after given
	ExitAfter time.Duration // since container start
	ExitCode  int32

	ReadyAfter time.Duration // since container start

	FailsReadiness     bool
	FailReadinessAfter time.Duration

	FailsLiveness     bool
	FailLivenessAfter time.Duration

	StopAfter time.Duration // from SIGTERM to exit
}

// AnnotationError is a bad simulator annotation: Key is the annotation key.
type AnnotationError struct {
	Key     string
	Message string
}

func (e *AnnotationError) Error() string { return "annotation " + e.Key + ": " + e.Message }

// ContainerBehavior resolves the behaviour of one container from the pod's
// annotations. It ignores keys of other containers and non-simulator keys, and
// returns an *AnnotationError for a bad value.
func ContainerBehavior(annotations map[string]string, container string) (Behavior, error) {
	var b Behavior
	get := func(key string) (string, string, bool) {
		if v, ok := annotations[key+"."+container]; ok {
			return key + "." + container, v, true
		}
		v, ok := annotations[key]
		return key, v, ok
	}
	dur := func(key string, dst *time.Duration, set *bool) error {
		k, v, ok := get(key)
		if !ok {
			return nil
		}
		d, err := parseBehaviorDuration(v)
		if err != nil {
			return &AnnotationError{Key: k, Message: err.Error()}
		}
		*dst = d
		if set != nil {
			*set = true
		}
		return nil
	}
	for _, step := range []error{
		dur(AnnotationExitAfter, &b.ExitAfter, &b.Exits),
		dur(AnnotationReadyAfter, &b.ReadyAfter, nil),
		dur(AnnotationFailReadinessAfter, &b.FailReadinessAfter, &b.FailsReadiness),
		dur(AnnotationFailLivenessAfter, &b.FailLivenessAfter, &b.FailsLiveness),
		dur(AnnotationStopAfter, &b.StopAfter, nil),
	} {
		if step != nil {
			return Behavior{}, step
		}
	}
	if k, v, ok := get(AnnotationExitCode); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n < 0 || n > 255 {
			return Behavior{}, &AnnotationError{Key: k, Message: fmt.Sprintf("invalid exit code %q (want an integer 0..255)", v)}
		}
		if !b.Exits {
			return Behavior{}, &AnnotationError{Key: k, Message: "has no effect without " + AnnotationExitAfter}
		}
		b.ExitCode = int32(n)
	}
	return b, nil
}

// parseBehaviorDuration accepts what durations in the scenario file accept: a
// Go duration or a plain number of seconds, not negative.
func parseBehaviorDuration(v string) (time.Duration, error) {
	d, err := parseDurationString(strings.TrimSpace(v))
	if err != nil {
		return 0, err
	}
	return d, nil
}

// checkAnnotationKeys maps each simulator annotation key that is neither a
// known key nor a known key with the suffix of one of containers to the
// problem with it.
func checkAnnotationKeys(annotations map[string]string, containers []string) map[string]string {
	bad := map[string]string{}
	known := map[string]bool{}
	for _, k := range behaviorKeys {
		known[k] = true
	}
	for key := range annotations {
		if !strings.HasPrefix(key, AnnotationPrefix) || known[key] {
			continue
		}
		base, suffix, hasSuffix := strings.Cut(strings.TrimPrefix(key, AnnotationPrefix), ".")
		if hasSuffix && known[AnnotationPrefix+base] {
			if !contains(containers, suffix) {
				bad[key] = fmt.Sprintf("no container %q in the pod (containers: %s)", suffix, strings.Join(containers, ", "))
			}
			continue
		}
		keys := append([]string(nil), behaviorKeys...)
		sort.Strings(keys)
		bad[key] = fmt.Sprintf("unknown simulator annotation (want one of %s, optionally followed by .<container>)", strings.Join(keys, ", "))
	}
	return bad
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
