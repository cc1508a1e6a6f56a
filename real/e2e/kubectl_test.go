package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// kubectlPath is the unmodified kubectl the test drives the cluster with.
const kubectlPath = "/usr/bin/kubectl"

// kubectl runs /usr/bin/kubectl with a kubeconfig and a discovery cache of
// the test's own.
type kubectl struct {
	Kubeconfig string
	CacheDir   string
	Timeout    time.Duration // per call; default 60 s
}

// Run runs kubectl with args and returns its stdout.
func (k *kubectl) Run(args ...string) (string, error) {
	timeout := k.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	argv := append([]string{kubectlPath, "--kubeconfig", k.Kubeconfig, "--cache-dir", k.CacheDir}, args...)
	return cmdOutput(context.Background(), timeout, []string{"HOME=" + k.CacheDir}, argv...)
}

// Must is Run that fails the test on error.
func (k *kubectl) Must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := k.Run(args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Apply writes manifest to a file and runs kubectl apply -f on it.
func (k *kubectl) Apply(t *testing.T, name, manifest string) string {
	t.Helper()
	path := filepath.Join(k.CacheDir, name)
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return k.Must(t, "apply", "-f", path)
}

// Pods is `kubectl get pods -o json` decoded.
func (k *kubectl) Pods(namespace, selector string) ([]corev1.Pod, error) {
	args := []string{"get", "pods", "-n", namespace, "-o", "json"}
	if selector != "" {
		args = append(args, "-l", selector)
	}
	out, err := k.Run(args...)
	if err != nil {
		return nil, err
	}
	var l corev1.PodList
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, fmt.Errorf("decode kubectl get pods -o json: %w\n%s", err, out)
	}
	return l.Items, nil
}

// Nodes is `kubectl get nodes -o json` decoded.
func (k *kubectl) Nodes() ([]corev1.Node, error) {
	out, err := k.Run("get", "nodes", "-o", "json")
	if err != nil {
		return nil, err
	}
	var l corev1.NodeList
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, fmt.Errorf("decode kubectl get nodes -o json: %w\n%s", err, out)
	}
	return l.Items, nil
}

// parseTable parses kubectl's column output (a header line, then rows
// aligned under it by tabwriter) into one map per row, keyed by header.
// Cells are cut at the columns' start offsets, so values with spaces (e.g.
// RESTARTS "1 (5s ago)") stay whole.
func parseTable(out string) ([]map[string]string, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return nil, nil
	}
	header := lines[0]
	var names []string
	var starts []int
	for i := 0; i < len(header); {
		if header[i] == ' ' {
			i++
			continue
		}
		j := i
		// A header may hold single spaces ("NOMINATED NODE"); columns are
		// at least 3 spaces apart.
		for j < len(header) && !(header[j] == ' ' && (j+1 >= len(header) || header[j+1] == ' ')) {
			j++
		}
		names = append(names, header[i:j])
		starts = append(starts, i)
		i = j
	}
	var rows []map[string]string
	for _, line := range lines[1:] {
		if strings.TrimSpace(line) == "" {
			continue
		}
		row := map[string]string{}
		for c, name := range names {
			if starts[c] >= len(line) {
				row[name] = ""
				continue
			}
			end := len(line)
			if c+1 < len(starts) && starts[c+1] < end {
				end = starts[c+1]
			}
			if starts[c] > 0 && line[starts[c]-1] != ' ' {
				return nil, fmt.Errorf("row %q is not aligned with header %q at column %s", line, header, name)
			}
			row[name] = strings.TrimSpace(line[starts[c]:end])
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// podReady reports the pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// nodeReady is the node's Ready condition status ("True", "False",
// "Unknown", or "" when it has none).
func nodeReady(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return string(c.Status)
		}
	}
	return ""
}

// podsSummary is one line per pod for failure messages.
func podsSummary(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		del := ""
		if p.DeletionTimestamp != nil {
			del = " deleting"
		}
		fmt.Fprintf(&b, "[%s %s node=%s ip=%s ready=%s%s] ", p.Name, p.Status.Phase, p.Spec.NodeName,
			p.Status.PodIP, strconv.FormatBool(podReady(&p)), del)
	}
	return b.String()
}

// podWget runs busybox wget in the network namespace of process pid (a
// container of a pod) and returns the body; a request that has not
// finished after 3 s is killed and reported as timed out. (Debian's static
// busybox 1.35 wget crashes with SIGSEGV whenever -T is given, so the
// deadline is enforced from here rather than with -T.)
func podWget(pid uint32, url string) (string, error) {
	return cmdOutput(context.Background(), 3*time.Second, nil,
		"nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", pid), "--",
		"/bin/busybox", "wget", "-qO-", url)
}
