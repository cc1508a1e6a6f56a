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
	infs    map[feed.Kind]cache.SharedIndexInformer
	// errs holds each kind's last watch error until that kind is known to
	// work again: a watch of one kind failing (a 403 on pods, say) is not
	// cured by events of another kind.
	errs map[feed.Kind]watchError
	// errSeq orders errors so that the newest is the one shown.
	errSeq int
}

// watchError is a kind's failing watch, with the informer's last synced
// resourceVersion when it failed: once the informer has listed or watched
// past it, the watch works again even if nothing of that kind changed.
type watchError struct {
	msg    string
	syncRV string
	seq    int
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
	s := &Source{name: name, start: now(), now: now, errs: map[feed.Kind]watchError{}}
	s.rec.Now = now
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	f := informers.NewSharedInformerFactory(cs, 0)
	s.factory = f
	s.infs = map[feed.Kind]cache.SharedIndexInformer{
		feed.Nodes:       f.Core().V1().Nodes().Informer(),
		feed.Pods:        f.Core().V1().Pods().Informer(),
		feed.Services:    f.Core().V1().Services().Informer(),
		feed.Events:      f.Core().V1().Events().Informer(),
		feed.Deployments: f.Apps().V1().Deployments().Informer(),
		feed.ReplicaSets: f.Apps().V1().ReplicaSets().Informer(),
	}
	for _, k := range feed.Kinds {
		k := k
		inf := s.infs[k]
		_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
			rv := inf.LastSyncResourceVersion()
			s.mu.Lock()
			s.errSeq++
			s.errs[k] = watchError{msg: fmt.Sprintf("watch %s: %v", k, err), syncRV: rv, seq: s.errSeq}
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
	delete(s.errs, k)
}

// errorLine is the newest watch error still standing, with how many other
// kinds are failing too; "" when every watch works. Called with s.mu held.
func (s *Source) errorLine() string {
	var newest watchError
	n := 0
	for k, e := range s.errs {
		if rv := s.infs[k].LastSyncResourceVersion(); rv != "" && rv != e.syncRV {
			delete(s.errs, k) // listed or watched since: it works again
			continue
		}
		n++
		if e.seq > newest.seq {
			newest = e
		}
	}
	switch n {
	case 0:
		return ""
	case 1:
		return newest.msg
	default:
		return fmt.Sprintf("%s (and %d more failing)", newest.msg, n-1)
	}
}

// Frame returns what the watches saw since the last frame. Commands do not
// apply to a live cluster.
func (s *Source) Frame(elapsed time.Duration, cmds []feed.Command) feed.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := feed.Status{Source: "live", Name: s.name, Start: s.start, Now: s.now(), Speed: 1, Err: s.errorLine()}
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
