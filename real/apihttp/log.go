package apihttp

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/real/auth"
)

// DefaultKubeletPort is the kubelet port used when a node does not report
// status.daemonEndpoints.kubeletEndpoint.port.
const DefaultKubeletPort = 10250

// logParams are the pods/log query parameters passed on to the kubelet.
var logParams = []string{"follow", "tailLines", "timestamps", "sinceSeconds", "sinceTime", "previous", "limitBytes"}

// serveLog serves GET pods/{name}/log by proxying the kubelet's
// /containerLogs/{ns}/{pod}/{container} on the pod's node.
func (h *handler) serveLog(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	if err := h.authorize(req.Context(), user, info, "get"); err != nil {
		return err
	}
	q := req.URL.Query()
	for _, p := range []string{"tailLines", "sinceSeconds", "limitBytes"} {
		if v := q.Get(p); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 || (p != "tailLines" && n == 0) {
				return apierrors.NewBadRequest(fmt.Sprintf("%s: invalid value %q", p, v))
			}
		}
	}
	pod, container, kubelet, err := h.containerOnNode(req.Context(), info, q.Get("container"), "pods/log")
	if err != nil {
		return err
	}
	kq := url.Values{}
	for _, p := range logParams {
		if v := q.Get(p); v != "" {
			kq.Set(p, v)
		}
	}
	// The URL names the node, the context carries its address: the kubelet
	// client verifies that whoever answers at the address is that node's
	// kubelet, and pools connections per node (auth.NewKubeletClient).
	u := url.URL{Scheme: "https", Host: kubelet.host,
		Path: "/containerLogs/" + pod.Namespace + "/" + pod.Name + "/" + container, RawQuery: kq.Encode()}
	ctx, cancel := context.WithCancel(auth.WithKubeletAddress(req.Context(), kubelet.addr))
	defer cancel()
	if h.cfg.Stop != nil {
		go func() {
			select {
			case <-h.cfg.Stop:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	kreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	resp, err := h.cfg.KubeletClient.Do(kreq)
	if err != nil {
		return apierrors.NewServiceUnavailable(fmt.Sprintf("the kubelet of node %s did not answer: %v", kubelet.node, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The kubelet's own message reaches the user, as with kube-apiserver.
		return kubeletError(resp, pod.Name)
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return nil
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr != nil {
			// EOF, or the kubelet or the client went away: headers are
			// out, so the stream just ends, as kube-apiserver's does.
			return nil
		}
	}
}

// logContainer picks the container pods/log reads: the one asked for, or the
// pod's only container; otherwise 400 naming the choices, as Kubernetes.
func logContainer(pod *corev1.Pod, name string) (string, error) {
	if name != "" {
		for _, c := range pod.Spec.Containers {
			if c.Name == name {
				return name, nil
			}
		}
		for _, c := range pod.Spec.InitContainers {
			if c.Name == name {
				return name, nil
			}
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
	}
	if len(pod.Spec.Containers) == 1 {
		return pod.Spec.Containers[0].Name, nil
	}
	if a := pod.Annotations["kubectl.kubernetes.io/default-container"]; a != "" {
		for _, c := range pod.Spec.Containers {
			if c.Name == a {
				return a, nil
			}
		}
	}
	var names, inits []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, strings.Join(names, " "))
	if len(inits) > 0 {
		msg += fmt.Sprintf(" or one of the init containers: [%s]", strings.Join(inits, " "))
	}
	return "", apierrors.NewBadRequest(msg)
}

// nodeAddress picks the address the API server reaches a kubelet at,
// preferring InternalIP like kube-apiserver's default
// --kubelet-preferred-address-types (after hostnames, which drydock's
// nodes do not resolve).
func nodeAddress(n *corev1.Node) string {
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeInternalDNS, corev1.NodeExternalDNS, corev1.NodeHostName} {
		for _, a := range n.Status.Addresses {
			if a.Type == t && a.Address != "" {
				return a.Address
			}
		}
	}
	return ""
}

// kubeletRef is where a pod's kubelet is reached: host (node name and port)
// is the URL host, addr (the Node's address and port) what is dialled.
type kubeletRef struct {
	node, host, addr string
}

// containerOnNode reads the pod of info, picks its container (named, or
// the only one) and finds its node's kubelet, for the proxy named what.
func (h *handler) containerOnNode(ctx context.Context, info *requestInfo, name, what string) (*corev1.Pod, string, kubeletRef, error) {
	obj, err := h.cfg.Server.Get(ctx, api.Pods, info.ns, info.name)
	if err != nil {
		return nil, "", kubeletRef{}, err
	}
	pod := obj.(*corev1.Pod)
	container, err := logContainer(pod, name)
	if err != nil {
		return nil, "", kubeletRef{}, err
	}
	kubelet, err := h.kubeletOf(ctx, pod, what)
	if err != nil {
		return nil, "", kubeletRef{}, err
	}
	return pod, container, kubelet, nil
}

// kubeletOf finds the kubelet of pod's node for the proxy named what
// (pods/log, pods/exec), with kube-apiserver's errors when it cannot.
func (h *handler) kubeletOf(ctx context.Context, pod *corev1.Pod, what string) (kubeletRef, error) {
	if pod.Spec.NodeName == "" {
		return kubeletRef{}, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	nobj, err := h.cfg.Server.Get(ctx, api.Nodes, "", pod.Spec.NodeName)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return kubeletRef{}, apierrors.NewBadRequest(fmt.Sprintf("node %s for pod %s does not exist", pod.Spec.NodeName, pod.Name))
		}
		return kubeletRef{}, err
	}
	node := nobj.(*corev1.Node)
	host := nodeAddress(node)
	if host == "" {
		return kubeletRef{}, apierrors.NewBadRequest(fmt.Sprintf("node %s has no address", node.Name))
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port <= 0 {
		port = DefaultKubeletPort
	}
	if h.cfg.KubeletClient == nil {
		return kubeletRef{}, apierrors.NewServiceUnavailable(what + ": the API server has no kubelet client configured")
	}
	p := strconv.Itoa(port)
	return kubeletRef{node: node.Name, host: net.JoinHostPort(node.Name, p), addr: net.JoinHostPort(host, p)}, nil
}
