package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// This file holds the package's only file system access: scenarios and their
// manifests are read once, before a simulation starts, never during one.

// Load reads and parses the scenario file at path. Manifest files it
// references are resolved relative to the scenario file's directory. The error
// is an Errors value listing every problem found.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Message: "cannot read scenario: " + describeReadError(err)}}
	}
	return Parse(path, data)
}

// Parse parses a scenario file's contents; file names it in errors and is the
// base for the manifest files it references, which are read from the OS file
// system.
func Parse(file string, data []byte) (*Scenario, error) {
	p := &parser{
		file:     file,
		readFile: os.ReadFile,
		joinPath: func(scenarioFile, ref string) string {
			if filepath.IsAbs(ref) {
				return ref
			}
			return filepath.Join(filepath.Dir(scenarioFile), ref)
		},
	}
	return p.parse(data)
}

// LoadFS is Load reading from fsys (e.g. an embed.FS or fstest.MapFS).
func LoadFS(fsys fs.FS, name string) (*Scenario, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, Errors{{File: name, Message: "cannot read scenario: " + describeReadError(err)}}
	}
	return ParseFS(fsys, name, data)
}

// ParseFS is Parse with referenced manifests read from fsys; file is a path
// within fsys.
func ParseFS(fsys fs.FS, file string, data []byte) (*Scenario, error) {
	p := &parser{
		file:     file,
		readFile: func(name string) ([]byte, error) { return fs.ReadFile(fsys, name) },
		joinPath: func(scenarioFile, ref string) string { return path.Join(path.Dir(scenarioFile), ref) },
	}
	return p.parse(data)
}

// describeReadError drops the operation and path that *fs.PathError repeats,
// since the Error already names the file.
func describeReadError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if errors.Is(err, fs.ErrNotExist) {
			return "file does not exist"
		}
		return pe.Err.Error()
	}
	return fmt.Sprint(err)
}
