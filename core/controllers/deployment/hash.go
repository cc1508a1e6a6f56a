package deployment

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// safeAlphabet is Kubernetes' alphabet for generated names: no vowels (no
// accidental words) and no 0, 1, 3 (confusable with o, l, e).
const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// ComputeHash is the pod-template-hash of a Deployment's template: FNV-32a
// over the template's JSON, then the collision count (when set) as 8
// little-endian bytes, the decimal digits of the sum mapped onto
// safeAlphabet. encoding/json sorts map keys, so equal templates hash equally
// in every process. (Kubernetes hashes a spew dump of the Go value instead;
// the hashes differ, the properties do not.)
func ComputeHash(t *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	b, err := json.Marshal(t)
	if err != nil {
		panic("deployment: pod template does not marshal: " + err.Error()) // typed API values always marshal
	}
	h.Write(b)
	if collisionCount != nil {
		var buf [8]byte
		binary.LittleEndian.PutUint32(buf[:], uint32(*collisionCount))
		h.Write(buf[:])
	}
	return safeEncode(strconv.FormatUint(uint64(h.Sum32()), 10))
}

func safeEncode(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = safeAlphabet[int(c)%len(safeAlphabet)]
	}
	return string(b)
}
