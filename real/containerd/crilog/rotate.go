package crilog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Rotation defaults, as the kubelet's containerLogMaxSize and containerLogMaxFiles.
const (
	DefaultMaxSize  = 10 << 20
	DefaultMaxFiles = 5
)

// rotatedSuffix is the timestamp the kubelet appends to a rotated log.
const rotatedSuffix = "20060102-150405"

// RotatingFile is a log file that is rotated, as the kubelet rotates
// container logs: before a write would take it past MaxSize, the file is
// renamed <path>.<YYYYMMDD-hhmmss> and a new one started; of the rotated
// files only the newest MaxFiles-1 are kept. Writes are whole records (the
// Writer writes one record per call), so records never straddle two files.
type RotatingFile struct {
	path     string
	maxSize  int64
	maxFiles int
	now      func() time.Time

	mu     sync.Mutex
	f      *os.File // nil after Close, or after a rotation that could not reopen
	closed bool
	size   int64
}

// OpenRotating opens (appends to) path. maxSize <= 0 and maxFiles < 2
// take the defaults; now (time.Now if nil) names rotated files.
func OpenRotating(path string, maxSize int64, maxFiles int, now func() time.Time) (*RotatingFile, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if maxFiles < 2 {
		maxFiles = DefaultMaxFiles
	}
	if now == nil {
		now = time.Now
	}
	r := &RotatingFile{path: path, maxSize: maxSize, maxFiles: maxFiles, now: now}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *RotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, st.Size()
	return nil
}

// Write appends p, rotating first if p would take the file past MaxSize.
func (r *RotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, os.ErrClosed
	}
	if r.f == nil {
		// A rotation failed half way: start a file at path again.
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	if r.size > 0 && r.size+int64(len(p)) > r.maxSize {
		if err := r.rotate(); err != nil {
			return 0, fmt.Errorf("rotate %s: %w", r.path, err)
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

func (r *RotatingFile) rotate() error {
	err := r.f.Close()
	r.f = nil // the next Write opens path again if this rotation stops half way
	if err != nil {
		return err
	}
	ts := r.now().UTC().Format(rotatedSuffix)
	name := r.path + "." + ts
	// Rotations within one second get -1, -2, ... after the newest so far.
	seq := -1
	for _, old := range Rotated(r.path) {
		s := old[strings.LastIndex(old, ".")+1:]
		if s == ts {
			seq = max(seq, 0)
		} else if n, ok := strings.CutPrefix(s, ts+"-"); ok {
			var i int
			fmt.Sscan(n, &i)
			seq = max(seq, i)
		}
	}
	if seq >= 0 {
		name = fmt.Sprintf("%s.%s-%d", r.path, ts, seq+1)
	}
	if err := os.Rename(r.path, name); err != nil {
		if oerr := r.open(); oerr != nil {
			return errors.Join(err, oerr)
		}
		return err // written on past the limit until a rotation works
	}
	rotated := Rotated(r.path)
	for len(rotated) > r.maxFiles-1 {
		if err := os.Remove(rotated[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		rotated = rotated[1:]
	}
	return r.open()
}

// Rotated lists the rotated files of path, oldest first.
func Rotated(path string) []string {
	matches, _ := filepath.Glob(path + ".*")
	var out []string
	for _, m := range matches {
		suffix := strings.TrimPrefix(m, path+".")
		if len(suffix) >= len(rotatedSuffix) && suffix[8] == '-' && !strings.Contains(suffix, ".") {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return rotatedKey(out[i]) < rotatedKey(out[j]) })
	return out
}

// rotatedKey orders "<ts>" before "<ts>-1" before "<ts>-2" ... before "<ts+1>".
func rotatedKey(name string) string {
	s := name[strings.LastIndex(name, ".")+1:] // "20261206-150405" or "20261206-150405-3"
	parts := strings.SplitN(s, "-", 3)
	seq := "0"
	if len(parts) == 3 {
		seq = parts[2]
	}
	return parts[0] + parts[1] + fmt.Sprintf("%09s", seq)
}

// Close closes the file.
func (r *RotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
