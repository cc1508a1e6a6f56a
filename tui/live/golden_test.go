package live

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/drydock-sim/drydock/tui"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// The dashboard over a live cluster: no simulation controls, ages instead of
// simulated offsets, and the scheduler's PodScheduled message where the
// simulator would show its per-node decision.
func TestLiveViewsGolden(t *testing.T) {
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	now := start
	created := metav1.NewTime(start.Add(-90 * time.Second))
	n := node("n1", corev1.ConditionTrue)
	n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")}
	big := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: "default", UID: "big", CreationTimestamp: created},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled,
			Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."}}}}
	cs := fake.NewClientset(n, big)
	src := New(cs, "https://10.0.0.1:6443", func() time.Time { return now })
	defer src.Close()
	m := tui.New(src, tui.Options{Width: 100, Height: 20})
	defer m.Close()
	waitFor(t, src, m.St, "objects", func() bool { return len(m.St.Nodes) == 1 && len(m.St.Pods) == 1 })
	now = start.Add(5 * time.Second)
	m.Update(tui.BatchMsg{Batch: src.Frame(0, nil)})

	for _, tc := range []struct {
		name string
		keys []tea.KeyMsg
	}{
		{"live-nodes", nil},
		{"live-pending", []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune("3")}}},
		{"live-pod-detail", []tea.KeyMsg{{Type: tea.KeyEnter}}},
		{"live-no-controls", []tea.KeyMsg{{Type: tea.KeyEsc}, {Type: tea.KeySpace, Runes: []rune(" ")}}},
	} {
		for _, k := range tc.keys {
			m.Update(k)
		}
		got := m.View()
		path := filepath.Join("testdata", tc.name+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s differs (go test ./tui/live -update rewrites it)\n--- got:\n%s\n--- want:\n%s", tc.name, got, want)
		}
	}
}
