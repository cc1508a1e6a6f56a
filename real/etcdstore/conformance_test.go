package etcdstore

import (
	"testing"

	"github.com/drydock-sim/drydock/core/store"
	"github.com/drydock-sim/drydock/core/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t) })
}
