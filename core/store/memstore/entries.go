package memstore

import "strings"

// entryMap holds the live entries, split by key directory (everything up
// to the last '/': one resource in one namespace). A simulation keeps
// hundreds of thousands of Events next to a thousand Leases; one big map
// made every lease renewal's lookup a cache miss, while a lease's own
// directory stays small and hot.
type entryMap struct {
	dirs map[string]map[string]*entry
	n    int
}

func newEntryMap() entryMap { return entryMap{dirs: map[string]map[string]*entry{}} }

func dirOf(key string) string {
	return key[:strings.LastIndexByte(key, '/')+1]
}

func (m *entryMap) get(key string) (*entry, bool) {
	e, ok := m.dirs[dirOf(key)][key]
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
}

func (m *entryMap) del(key string) {
	d := dirOf(key)
	dir := m.dirs[d]
	if _, ok := dir[key]; !ok {
		return
	}
	delete(dir, key)
	m.n--
	if len(dir) == 0 {
		delete(m.dirs, d)
	}
}

func (m *entryMap) len() int { return m.n }
