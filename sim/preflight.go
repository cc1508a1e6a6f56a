package sim

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/core/store/memstore"
	"github.com/drydock-sim/drydock/sim/scenario"
)

// Preflight applies every manifest of the scenario (the initial objects,
// then each timeline apply in order) to a scratch API server, so that a
// manifest the API would reject is reported with its file and line before
// anything runs, and a bad scenario never runs half-way.
func Preflight(sc *scenario.Scenario) error {
	clk := fakeclock.New(Epoch)
	srv, err := apiserver.New(apiserver.Config{Store: memstore.New(), Clock: clk, Rand: rng.Stream(0, "preflight")})
	if err != nil {
		return err
	}
	defer srv.Close()
	var errs scenario.Errors
	check := func(ms []scenario.Manifest) {
		for _, m := range ms {
			obj, ok := m.Object.DeepCopyObject().(api.Object)
			if !ok {
				continue
			}
			_, err := srv.Create(context.Background(), obj, metav1.CreateOptions{})
			if err == nil || apierrors.IsAlreadyExists(err) {
				continue
			}
			errs = append(errs, &scenario.Error{File: m.File, Line: m.Line, Field: m.GVK.Kind + " " + obj.GetName(), Message: describeAPIError(err)})
		}
	}
	check(sc.Objects)
	for i := range sc.Timeline {
		if a := &sc.Timeline[i]; a.Kind == scenario.ActionApply {
			check(a.Objects)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// describeAPIError renders an API error with its field causes, the way
// kubectl prints an Invalid error.
func describeAPIError(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return se.Status().Message
	}
	return err.Error()
}
