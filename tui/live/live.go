// Package live is the dashboard's feed from a real cluster: client-go
// informers watch nodes, pods, deployments, replica sets, services and
// events, and every change lands in a batch that the dashboard takes once
// per frame. A live cluster cannot be paused or stepped: commands are
// ignored and Status.Controllable is false.
package live

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/feed"
)

// Source is a feed.Source over a cluster's API.
type Source struct {
	mu      sync.Mutex
	rec     feed.Recorder
	name    string
	start   time.Time
	now     func() time.Time
	cancel  context.CancelFunc
	factory informers.SharedInformerFactory
	err     string
}

var _ feed.Source = (*Source)(nil)

// FromKubeconfig connects to the cluster of a kubeconfig file's current
// context.
func FromKubeconfig(path string) (*Source, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", path, err)
	}
	return FromConfig(cfg)
}

// FromConfig connects with a rest config. It asks for JSON, which every
// API server speaks (drydock's serves no protobuf), instead of client-go's
// protobuf default for built-in types.
func FromConfig(cfg *rest.Config) (*Source, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = "application/json"
	cfg.AcceptContentTypes = "application/json"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return New(cs, cfg.Host, time.Now), nil
}

// New watches through cs; name labels the header, now is the wall clock.
func New(cs kubernetes.Interface, name string, now func() time.Time) *Source {
	s := &Source{name: name, start: now(), now: now}
	s.rec.Now = now
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	f := informers.NewSharedInformerFactory(cs, 0)
	s.factory = f
	infs := map[feed.Kind]cache.SharedIndexInformer{
		feed.Nodes:       f.Core().V1().Nodes().Informer(),
		feed.Pods:        f.Core().V1().Pods().Informer(),
		feed.Services:    f.Core().V1().Services().Informer(),
		feed.Events:      f.Core().V1().Events().Informer(),
		feed.Deployments: f.Apps().V1().Deployments().Informer(),
		feed.ReplicaSets: f.Apps().V1().ReplicaSets().Informer(),
	}
	for _, k := range feed.Kinds {
		k := k
		inf := infs[k]
		_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
			s.mu.Lock()
			s.err = fmt.Sprintf("watch %s: %v", k, err)
			s.mu.Unlock()
		})
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { s.record(k, api.WatchAdded, o) },
			UpdateFunc: func(_, o any) { s.record(k, api.WatchModified, o) },
			DeleteFunc: func(o any) { s.record(k, api.WatchDeleted, o) },
		})
	}
	f.Start(ctx.Done())
	return s
}

func (s *Source) record(k feed.Kind, t api.WatchEventType, o any) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	obj, ok := o.(runtime.Object)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rec.Change(k, api.WatchEvent{Type: t, Object: obj})
	s.err = ""
}

// Frame returns what the watches saw since the last frame. Commands do not
// apply to a live cluster.
func (s *Source) Frame(elapsed time.Duration, cmds []feed.Command) feed.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := feed.Status{Source: "live", Name: s.name, Start: s.start, Now: s.now(), Speed: 1, Err: s.err}
	if len(cmds) > 0 {
		st.Err = "a live cluster cannot be paused, stepped or restarted"
	}
	return s.rec.Take(st)
}

// Close stops the watches.
func (s *Source) Close() {
	s.cancel()
	s.factory.Shutdown()
}
