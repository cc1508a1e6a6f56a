package apiserver

import "github.com/drydock-sim/drydock/core/client"

var _ client.Interface = (*Server)(nil)
