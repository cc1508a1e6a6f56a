package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/real/etcdstore"
	"github.com/drydock-sim/drydock/real/loop"
)

// Over etcd the API server calls watch callbacks on the store's delivery
// goroutine: the control plane's client must hand the events to the loop
// safely and in order (run with -race; client.Loopback's Watch races here).
func TestLoopClientDeliversWatchEventsOnTheLoopInOrder(t *testing.T) {
	l := loop.New()
	ctx, cancel := context.WithCancel(context.Background())
	go l.Run(ctx)
	t.Cleanup(func() { cancel(); <-l.Done() })
	// Over etcd, as in the server: watch callbacks run on the store's
	// delivery goroutine.
	e, err := etcdstore.StartEmbedded(t.TempDir(), etcdstore.WithUnsafeNoFsync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	st, err := etcdstore.New(etcdstore.Config{Client: e.Client()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	s, err := apiserver.New(apiserver.Config{Store: st, Clock: l, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c := &loopClient{Loopback: &client.Loopback{Server: s, Clock: l}, post: l.Post}

	var got []string
	var stop func()
	if err := l.Do(func() {
		stop, err = c.Watch(ctx, api.Endpoints, "default", metav1.ListOptions{ResourceVersion: "0"}, func(ev api.WatchEvent) {
			got = append(got, ev.Object.(api.Object).GetName())
		})
	}); err != nil || stop == nil {
		t.Fatalf("watch: %v", err)
	}
	const n = 300
	done := make(chan error, 2)
	for w := 0; w < 2; w++ {
		go func() {
			for i := w; i < n; i += 2 {
				cm := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i), Namespace: "default"}}
				if _, err := c.Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
					done <- err
					return
				}
				runtime.Gosched() // let the loop deliver while writes go on
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var count int
		l.Do(func() { count = len(got) })
		if count == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered", count, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Each writer's objects arrive in the order it wrote them.
	l.Do(func() {
		last := [2]int{-1, -1}
		seen := map[string]bool{}
		for _, name := range got {
			var i int
			fmt.Sscanf(name, "cm-%d", &i)
			if seen[name] || i <= last[i%2] {
				t.Fatalf("events out of order or repeated: %v", got)
			}
			seen[name], last[i%2] = true, i
		}
		stop()
	})
}
