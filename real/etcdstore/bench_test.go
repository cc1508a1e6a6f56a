package etcdstore

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"

	"github.com/drydock-sim/drydock/core/api"
)

// Benchmarks of the store over embedded etcd: Create and Get of a typical
// Pod (455 bytes encoded), one caller and 16 concurrent callers (the API
// server serves many clients at once and etcd batches concurrent writes into
// one raft entry and one fsync). "fsync" is etcd as `drydock server` runs it;
// "nofsync" is the tests' --unsafe-no-fsync etcd, which shows what the disk
// costs. Run:
//
//	go test -run '^$' -bench . -benchtime 2000x ./real/etcdstore/

var (
	fsyncOnce sync.Once
	fsyncEtcd *Embedded
	fsyncErr  error
)

// benchEtcd returns the shared no-fsync etcd or a lazily started one with
// fsync (closed by TestMain).
func benchEtcd(b *testing.B, fsync bool) *Embedded {
	if !fsync {
		return testEtcd
	}
	fsyncOnce.Do(func() {
		dir, err := os.MkdirTemp("", "drydock-etcdstore-bench-")
		if err != nil {
			fsyncErr = err
			return
		}
		fsyncEtcd, fsyncErr = StartEmbedded(dir)
		if fsyncErr != nil {
			os.RemoveAll(dir)
			return
		}
		closers = append(closers, func() {
			fsyncEtcd.Close()
			os.RemoveAll(dir)
		})
	})
	if fsyncErr != nil {
		b.Fatal(fsyncErr)
	}
	return fsyncEtcd
}

func benchPod(name string) *corev1.Pod {
	p := roundTripObjects()[api.Pods].(*corev1.Pod).DeepCopy()
	p.Name = name
	p.ResourceVersion = ""
	return p
}

func BenchmarkCreate(b *testing.B) {
	for _, fsync := range []bool{true, false} {
		for _, par := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/callers=%d", fsyncName(fsync), par), func(b *testing.B) {
				s := newTestStoreWith(b, benchEtcd(b, fsync).Client(), nil)
				var n atomic.Int64
				run(b, par, func() {
					i := n.Add(1)
					name := "p" + strconv.FormatInt(i, 10)
					if _, err := s.Create("/registry/pods/default/"+name, benchPod(name)); err != nil {
						b.Error(err)
					}
				})
			})
		}
	}
}

func BenchmarkGet(b *testing.B) {
	const keys = 1000
	for _, par := range []int{1, 16} {
		b.Run(fmt.Sprintf("callers=%d", par), func(b *testing.B) {
			s := newTestStoreWith(b, benchEtcd(b, false).Client(), nil)
			for i := range keys {
				name := "p" + strconv.Itoa(i)
				if _, err := s.Create("/registry/pods/default/"+name, benchPod(name)); err != nil {
					b.Fatal(err)
				}
			}
			var n atomic.Int64
			run(b, par, func() {
				i := n.Add(1) % keys
				if _, err := s.Get("/registry/pods/default/p" + strconv.FormatInt(i, 10)); err != nil {
					b.Error(err)
				}
			})
		})
	}
}

// run calls op b.N times from par goroutines and reports operations per
// second.
func run(b *testing.B, par int, op func()) {
	b.ReportAllocs()
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				op()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func fsyncName(fsync bool) string {
	if fsync {
		return "fsync"
	}
	return "nofsync"
}

// BenchmarkCodec compares the chosen protobuf encoding with Kubernetes'
// JSON serializer for the same Pod: encode plus decode, and the value size.
func BenchmarkCodec(b *testing.B) {
	c := newCodec()
	js := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, c.scheme, c.scheme, kjson.SerializerOptions{})
	pod := benchPod("web")
	for _, tc := range []struct {
		name string
		enc  func() ([]byte, error)
		dec  func([]byte) error
	}{
		{"protobuf", func() ([]byte, error) { return c.encode(pod) },
			func(d []byte) error { _, err := c.decode(d, 1); return err }},
		{"json", func() ([]byte, error) {
			var buf bytes.Buffer
			err := js.Encode(pod, &buf)
			return buf.Bytes(), err
		}, func(d []byte) error { _, _, err := js.Decode(d, nil, nil); return err }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				d, err := tc.enc()
				if err != nil {
					b.Fatal(err)
				}
				if err := tc.dec(d); err != nil {
					b.Fatal(err)
				}
				size = len(d)
			}
			b.ReportMetric(float64(size), "bytes/value")
		})
	}
}
