package api

import (
	"bytes"
	"encoding/json"
)

// equalJSON compares two values by their JSON form, which is what "the same
// object" means for the API (nil and empty collections compare equal when
// both are omitted).
func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
