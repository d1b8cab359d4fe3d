package nova

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func context0() context.Context { return context.Background() }

// resourceClass returns the Ironic resource class a flavor asks for
// ("resources:CUSTOM_BAREMETAL=1" -> "baremetal"), "" for a virtual one.
func resourceClass(specs map[string]string) string {
	for k, v := range specs {
		if rc, ok := strings.CutPrefix(k, "resources:CUSTOM_"); ok && v != "0" {
			return strings.ToLower(rc)
		}
	}
	return ""
}

// ironic calls the Bare Metal service as Nova's ironic driver does (with
// the service's own credentials: Ironic accepts in-process service calls).
func (n *Nova) ironic(r *http.Request, method, path string, q url.Values, body, out any) error {
	if !n.has("baremetal") {
		return fmt.Errorf("no baremetal service in this emulator")
	}
	return n.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: "baremetal", Method: method,
		Path: path, Query: q, Body: body, Header: http.Header{"X-Openstack-Ironic-Api-Version": {"1.46"}}}, out)
}

// placeOnNode is the scheduler for bare metal: the first available node
// of the flavor's resource class, not in maintenance nor associated,
// claimed by setting its instance_uuid (409 when another server won the
// race: try the next), then deployed.
func (n *Nova) placeOnNode(r *http.Request, srv *Server) (string, error) {
	rc := resourceClass(srv.Flavor.ExtraSpecs)
	var list struct {
		Nodes []struct {
			UUID string `json:"uuid"`
		} `json:"nodes"`
	}
	q := url.Values{"provision_state": {"available"}, "resource_class": {rc}, "associated": {"false"}, "maintenance": {"false"}}
	if err := n.ironic(r, "GET", "/v1/nodes", q, nil, &list); err != nil {
		return "", fmt.Errorf("listing Ironic nodes: %v", err)
	}
	for _, node := range list.Nodes {
		patch := []map[string]any{
			{"op": "add", "path": "/instance_uuid", "value": srv.ID},
			{"op": "add", "path": "/instance_info", "value": map[string]any{
				"image_source": srv.ImageID, "root_gb": fmt.Sprint(srv.Flavor.Disk), "display_name": srv.Name,
				"vcpus": fmt.Sprint(srv.Flavor.VCPUs), "memory_mb": fmt.Sprint(srv.Flavor.RAM)}},
		}
		if err := n.ironic(r, "PATCH", "/v1/nodes/"+node.UUID, nil, patch, nil); err != nil {
			if callStatus(err) == http.StatusConflict {
				continue
			}
			return "", fmt.Errorf("claiming node %s: %v", node.UUID, err)
		}
		if err := n.ironic(r, "PUT", "/v1/nodes/"+node.UUID+"/states/provision", nil, map[string]any{"target": "active"}, nil); err != nil {
			_ = n.ironic(r, "PATCH", "/v1/nodes/"+node.UUID, nil, []map[string]any{{"op": "remove", "path": "/instance_uuid"}}, nil)
			return "", fmt.Errorf("deploying node %s: %v", node.UUID, err)
		}
		return node.UUID, nil
	}
	return "", fmt.Errorf("no available Ironic node of resource class %q", rc)
}

// releaseNode undeploys a server's node (deleted -> cleaning -> available).
func (n *Nova) releaseNode(r *http.Request, node string) {
	if err := n.ironic(r, "PUT", "/v1/nodes/"+node+"/states/provision", nil, map[string]any{"target": "deleted"}, nil); err != nil {
		n.env.Log.Info("nova: undeploying an Ironic node", "node", node, "err", err)
		_ = n.ironic(r, "PATCH", "/v1/nodes/"+node, nil, []map[string]any{{"op": "remove", "path": "/instance_uuid"}}, nil)
	}
}

// nodePower sets a bare-metal server's node power (power on, power off,
// rebooting), as the ironic driver does for start, stop and reboot.
func (n *Nova) nodePower(r *http.Request, srv *Server, target string) {
	if !srv.BareMetal || srv.Node == "" {
		return
	}
	if err := n.ironic(r, "PUT", "/v1/nodes/"+srv.Node+"/states/power", nil, map[string]any{"target": target}, nil); err != nil {
		n.env.Log.Info("nova: setting an Ironic node's power", "node", srv.Node, "target", target, "err", err)
	}
}
