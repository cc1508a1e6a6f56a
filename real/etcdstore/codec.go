package etcdstore

import (
	"bytes"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
)

// codec turns objects into etcd values and back.
//
// Values are Kubernetes' protobuf storage encoding (the "k8s\x00" magic
// followed by a runtime.Unknown envelope that carries apiVersion and kind),
// built with client-go's scheme. Protobuf rather than JSON because it is what
// kube-apiserver itself stores by default (--storage-media-type), so etcd
// tooling that understands Kubernetes data (etcdctl + auger and the like)
// reads drydock's keys, and because it is several times cheaper to encode and
// decode and smaller on disk and on every watch stream than JSON, which
// matters with one decode per object per Get, List and watch event. Every
// resource drydock serves is a built-in k8s.io/api type with generated
// protobuf marshalling.
//
// The resourceVersion is not stored: like kube-apiserver, the store derives
// it from the key's modification revision when it reads a value.
type codec struct {
	scheme *runtime.Scheme
	ser    *protobuf.Serializer
}

func newCodec() *codec {
	return &codec{scheme: scheme.Scheme, ser: protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)}
}

// encode serialises obj with its apiVersion and kind and without a
// resourceVersion. obj belongs to the store (see store.Store), so setting its
// type meta is allowed; its resourceVersion is left as it was.
func (c *codec) encode(obj runtime.Object) ([]byte, error) {
	gvks, _, err := c.scheme.ObjectKinds(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", obj, err)
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", obj, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	rv := m.GetResourceVersion()
	m.SetResourceVersion("")
	var buf bytes.Buffer
	err = c.ser.Encode(obj, &buf)
	m.SetResourceVersion(rv)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", obj, err)
	}
	return buf.Bytes(), nil
}

// decode parses a stored value into its Go type, with apiVersion and kind
// set and resourceVersion rev.
func (c *codec) decode(data []byte, rev int64) (runtime.Object, error) {
	obj, gvk, err := c.ser.Decode(data, nil, nil)
	if err != nil {
		return nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(*gvk)
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("decoded %v has no object metadata: %w", gvk, err)
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return obj, nil
}

func setRV(obj runtime.Object, rev int64) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetResourceVersion(strconv.FormatInt(rev, 10))
	}
}
