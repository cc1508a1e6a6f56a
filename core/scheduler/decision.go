package scheduler

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
)

// Decision records one scheduling attempt for dashboards and traces. The
// scheduler reuses its slices across attempts so recording costs no
// allocation; a sink that keeps a Decision must Clone it.
type Decision struct {
	// Cycle is the queue's scheduling cycle number of the attempt.
	Cycle int64
	Pod   *corev1.Pod
	// Attempts counts this pod's attempts, this one included.
	Attempts int
	// NumAllNodes is the number of nodes considered; NumToFind the sampling
	// target; Evaluated how many nodes were filtered.
	NumAllNodes int
	NumToFind   int
	Evaluated   int
	// Rejected lists each rejected node with the plugin and reason.
	Rejected []framework.NodeStatus
	// ScorePlugins names the rows of PluginScores.
	ScorePlugins []string
	// Scored are the feasible nodes that were scored, Totals their total
	// scores, and PluginScores[p][i] plugin p's weighted score of node i.
	// With a single feasible node nothing is scored.
	Scored       []string
	Totals       []int64
	PluginScores [][]int64
	// Feasible is the number of feasible nodes found.
	Feasible int
	// Winner is the chosen node, "" when the pod was not placed.
	Winner string
	// Message is the FitError or error message of a failed attempt.
	Message string
	// NominatedNode and Victims describe a preemption.
	NominatedNode string
	Victims       []*corev1.Pod
}

// Clone copies the decision so it survives the next attempt.
func (d Decision) Clone() Decision {
	c := d
	c.Rejected = append([]framework.NodeStatus(nil), d.Rejected...)
	c.ScorePlugins = append([]string(nil), d.ScorePlugins...)
	c.Scored = append([]string(nil), d.Scored...)
	c.Totals = append([]int64(nil), d.Totals...)
	c.PluginScores = make([][]int64, len(d.PluginScores))
	for i, row := range d.PluginScores {
		c.PluginScores[i] = append([]int64(nil), row...)
	}
	c.Victims = append([]*corev1.Pod(nil), d.Victims...)
	return c
}

func (d *Decision) reset() {
	*d = Decision{Scored: d.Scored[:0], Victims: d.Victims[:0]}
}
