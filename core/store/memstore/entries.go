package memstore

import "strings"

// entryMap holds the live entries, split by key directory (everything up
// to the last '/': one resource in one namespace). A simulation keeps
// hundreds of thousands of Events next to a thousand Leases; one big map
// made every lease renewal's lookup a cache miss, while a lease's own
// directory stays small and hot.
//
// last is the entry most recently looked up or added: the API server reads
// an object and then writes it (Get, then Update or Delete of the same
// key), and the second lookup finds it here without hashing the key twice.
type entryMap struct {
	dirs map[string]map[string]*entry
	n    int
	last *entry
}

func newEntryMap() entryMap { return entryMap{dirs: map[string]map[string]*entry{}} }

func dirOf(key string) string {
	return key[:strings.LastIndexByte(key, '/')+1]
}

func (m *entryMap) get(key string) (*entry, bool) {
	if l := m.last; l != nil && l.key == key {
		return l, true
	}
	e, ok := m.dirs[dirOf(key)][key]
	if ok {
		m.last = e
	}
	return e, ok
}

func (m *entryMap) put(key string, e *entry) {
	d := dirOf(key)
	dir := m.dirs[d]
	if dir == nil {
		dir = map[string]*entry{}
		m.dirs[d] = dir
	}
	if _, ok := dir[key]; !ok {
		m.n++
	}
	dir[key] = e
	m.last = e
}

func (m *entryMap) del(key string) {
	d := dirOf(key)
	dir := m.dirs[d]
	if _, ok := dir[key]; !ok {
		return
	}
	delete(dir, key)
	m.n--
	if m.last != nil && m.last.key == key {
		m.last = nil
	}
	if len(dir) == 0 {
		delete(m.dirs, d)
	}
}

func (m *entryMap) len() int { return m.n }
