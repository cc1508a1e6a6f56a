// Package scenario reads the simulator's input: a YAML file that describes a
// cluster (node pools), the Kubernetes objects applied at the start, a timeline
// of actions and faults, and the expectations the run is judged by. The format
// is documented in scenarios/README.md at the root of the repository.
//
// Parsing is strict and complete: every unknown field, wrong type, bad
// reference and invalid manifest is reported with file, line and field path,
// and all problems are collected before returning (see Errors). Manifests are
// decoded into typed k8s.io/api objects with client-go's scheme in strict mode,
// so a scenario that loads is one that the simulator's API server can take.
//
// The package does no I/O except in Load and Parse, which read the scenario and
// the manifest files it references before a simulation starts; ParseFS does
// the same through an fs.FS.
package scenario
