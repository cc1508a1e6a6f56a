package framework

// StateKey names a slot in CycleState. Plugins own fixed keys (constants in
// the plugins package), so reading state is an array index instead of the
// string-keyed map lookup kube-scheduler does on every Filter call.
type StateKey uint8

// MaxStateKeys bounds the number of state slots.
const MaxStateKeys = 16

// StateData is per-cycle plugin data.
type StateData interface {
	// Clone returns a copy that may be changed independently (preemption dry
	// runs mutate cloned state through PreFilterExtensions). Data that is never
	// changed after PreFilter may return itself.
	Clone() StateData
}

// CycleState carries plugin data through one scheduling cycle, plus which
// plugins PreFilter and PreScore asked to skip.
type CycleState struct {
	data       [MaxStateKeys]StateData
	skipFilter uint64
	skipScore  uint64
	// filters are the filter plugins not skipped, with their names, fixed
	// after PreFilter so the per-node loop tests no skip bits.
	filters    []FilterPlugin
	filtersSet bool
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState { return &CycleState{} }

// Read returns the data in slot k, nil if unset.
func (c *CycleState) Read(k StateKey) StateData { return c.data[k] }

// Write stores d in slot k.
func (c *CycleState) Write(k StateKey, d StateData) { c.data[k] = d }

// Reset clears the state for reuse by the next cycle, keeping memory.
func (c *CycleState) Reset() {
	clear(c.filters)
	*c = CycleState{filters: c.filters[:0]}
}

// Clone deep-copies the state.
func (c *CycleState) Clone() *CycleState {
	out := *c
	out.filters = append([]FilterPlugin(nil), c.filters...)
	for i, d := range c.data {
		if d != nil {
			out.data[i] = d.Clone()
		}
	}
	return &out
}

// CopyFrom makes c a deep copy of o, reusing c's memory; data that never
// changes after PreFilter is shared, so this usually allocates nothing.
func (c *CycleState) CopyFrom(o *CycleState) {
	filters := append(c.filters[:0], o.filters...)
	*c = *o
	c.filters = filters
	for i, d := range o.data {
		if d != nil {
			c.data[i] = d.Clone()
		}
	}
}
