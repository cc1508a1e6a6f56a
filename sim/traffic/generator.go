package traffic

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/proxy"
)

// ErrUnreachable: the connection was forwarded to a pod that does not answer
// (deleted, not Running, or on a node that is down).
var ErrUnreachable = errors.New("traffic: backend pod unreachable")

// Result is the outcome of one request.
type Result struct {
	At        time.Time
	Generator string
	// Backend is the endpoint the request was forwarded to (zero if routing
	// failed).
	Backend PodAddr
	// Err is nil when the backend answered; otherwise a routing error
	// (proxy.ErrRejected, ...) or ErrUnreachable.
	Err error
}

// OK reports whether a backend answered.
func (r Result) OK() bool { return r.Err == nil }

// Sink receives request outcomes.
type Sink interface {
	Record(Result)
}

// Generator sends requests at one Service port at a steady rate from a
// client pod on ClientNode, through the Network, and reports each outcome to
// Sink. Set the fields, then Start.
type Generator struct {
	Name    string
	Clock   clock.Clock
	Rand    *rand.Rand // endpoint picks and Poisson arrivals
	Network *Network
	// ClientNode is where the client pod runs ("" for outside the cluster,
	// which can only use NodeIP).
	ClientNode string
	// ClientIP is the client's source address (default: see Request).
	ClientIP string
	// Service is the target. The generator looks up its ClusterIP and port
	// in the client node's table for every request, so it follows the
	// Service as that node's proxy sees it.
	Service proxy.ServicePortName
	// NodeIP, if set, sends to the Service's NodePort on this node address
	// instead of its ClusterIP; the NodePort is looked up in that node's table.
	NodeIP string
	// Rate is requests per second.
	Rate float64
	// Poisson draws exponential gaps (mean 1/Rate) instead of a fixed period.
	Poisson bool
	// Reachable reports whether the pod at podIP answers: it exists, is
	// Running and its node is up. Nil means every pod answers.
	Reachable func(podIP string) bool
	Sink      Sink

	timer   clock.Timer
	running bool
	sent    int
}

// Start sends the first request now and continues at Rate until Stop.
func (g *Generator) Start() {
	g.Stop()
	if g.Rate <= 0 {
		return
	}
	g.running = true
	g.timer = g.Clock.AfterFunc(0, g.tick)
}

// Stop ends the traffic.
func (g *Generator) Stop() {
	g.running = false
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
}

// Sent counts requests sent.
func (g *Generator) Sent() int { return g.sent }

func (g *Generator) tick() {
	g.timer = nil
	g.Send()
	// The Sink may have stopped the generator.
	if g.running {
		g.timer = g.Clock.AfterFunc(g.gap(), g.tick)
	}
}

func (g *Generator) gap() time.Duration {
	mean := float64(time.Second) / g.Rate
	if g.Poisson {
		mean *= g.Rand.ExpFloat64()
	}
	if d := time.Duration(mean); d > 0 {
		return d
	}
	return 1 // a zero gap would never let the clock advance
}

// Send sends one request now and returns its outcome (also given to Sink).
func (g *Generator) Send() Result {
	g.sent++
	res := Result{At: g.Clock.Now(), Generator: g.Name}
	req, err := g.request()
	if err == nil {
		res.Backend, err = g.Network.Send(req, g.Rand)
	}
	if err == nil && g.Reachable != nil && !g.Reachable(res.Backend.IP) {
		err = ErrUnreachable
	}
	res.Err = err
	if g.Sink != nil {
		g.Sink.Record(res)
	}
	return res
}

// request resolves the Service to a destination address as the relevant
// node's table knows it.
func (g *Generator) request() (Request, error) {
	req := Request{ClientNode: g.ClientNode, ClientIP: g.ClientIP, Protocol: g.Service.Protocol}
	var t *Table
	if g.NodeIP != "" {
		t = g.Network.byIP[g.NodeIP]
	} else {
		t = g.Network.tables[g.ClientNode]
	}
	if t == nil {
		return req, proxy.ErrNoRule
	}
	p, ok := t.rules.Get(g.Service)
	if !ok {
		return req, proxy.ErrNoRule
	}
	if g.NodeIP != "" {
		if p.NodePort == 0 {
			return req, proxy.ErrNoRule
		}
		req.DstIP, req.DstPort = g.NodeIP, p.NodePort
	} else {
		req.DstIP, req.DstPort = p.ClusterIP, p.Port
	}
	return req, nil
}
