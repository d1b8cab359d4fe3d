package nova

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func sha224Hex(s string) string {
	h := sha256.Sum224([]byte(s))
	return hex.EncodeToString(h[:])
}

// has reports whether the emulator runs a service of that catalog type.
func (n *Nova) has(typ string) bool {
	for _, s := range n.env.Specs() {
		if s.Type == typ {
			return true
		}
	}
	return false
}

// volumeType is the catalog type Cinder registered under, "" without one.
func (n *Nova) volumeType() string {
	for _, t := range []string{"block-storage", "volumev3", "volume"} {
		if n.has(t) {
			return t
		}
	}
	return ""
}

// call sends a request to another service as the caller.
func (n *Nova) call(r *http.Request, service, method, path string, q url.Values, body, out any) error {
	return n.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: service, Method: method,
		Path: path, Query: q, Body: body}, out)
}

func callStatus(err error) int {
	var ce *core.CallError
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}

// callMessage extracts the message of another service's error body.
func callMessage(err error) string {
	var ce *core.CallError
	if !errors.As(err, &ce) {
		return err.Error()
	}
	s := string(ce.Body)
	for _, key := range []string{`"message": "`, `"message":"`, `"faultstring": "`, `\"faultstring\": \"`} {
		if i := strings.Index(s, key); i >= 0 {
			rest := s[i+len(key):]
			if j := strings.Index(rest, `"`); j >= 0 {
				return strings.TrimSuffix(rest[:j], `\`)
			}
		}
	}
	return strings.TrimSpace(s)
}

// neutronPort is the part of a Neutron port Nova reads.
type neutronPort struct {
	ID             string   `json:"id"`
	NetworkID      string   `json:"network_id"`
	MAC            string   `json:"mac_address"`
	DeviceID       string   `json:"device_id"`
	DeviceOwner    string   `json:"device_owner"`
	Status         string   `json:"status"`
	SecurityGroups []string `json:"security_groups"`
	PortSecurity   *bool    `json:"port_security_enabled"`
	FixedIPs       []struct {
		SubnetID  string `json:"subnet_id"`
		IPAddress string `json:"ip_address"`
	} `json:"fixed_ips"`
}

type neutronNetwork struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Shared   bool   `json:"shared"`
	External bool   `json:"router:external"`
	Project  string `json:"project_id"`
}

// ports returns the server's ports as Neutron has them now.
func (n *Nova) ports(r *http.Request, serverID string) []neutronPort {
	if !n.has("network") {
		return nil
	}
	var out struct {
		Ports []neutronPort `json:"ports"`
	}
	if err := n.call(r, "network", "GET", "/v2.0/ports", url.Values{"device_id": {serverID}}, nil, &out); err != nil {
		n.env.Log.Debug("nova: listing a server's ports", "server", serverID, "err", err)
		return nil
	}
	return out.Ports
}

func (n *Nova) network(r *http.Request, id string) (*neutronNetwork, error) {
	var out struct {
		Network neutronNetwork `json:"network"`
	}
	if err := n.call(r, "network", "GET", "/v2.0/networks/"+id, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out.Network, nil
}

// netViewOf gathers a server's addresses (fixed and floating, by network
// name) and security group names from Neutron, as Nova's network info
// cache holds them.
func (n *Nova) netViewOf(r *http.Request, srv *Server) *netView {
	nv := &netView{addresses: map[string][]map[string]any{}}
	if !n.has("network") {
		nv.secGroups = srv.SecurityGroups
		return nv
	}
	ports := n.ports(r, srv.ID)
	names := map[string]string{}
	sgSeen := map[string]bool{}
	for _, p := range ports {
		name, ok := names[p.NetworkID]
		if !ok {
			if net, err := n.network(r, p.NetworkID); err == nil {
				name = net.Name
			} else {
				name = p.NetworkID
			}
			names[p.NetworkID] = name
		}
		list := nv.addresses[name]
		for _, ip := range p.FixedIPs {
			list = append(list, map[string]any{"version": ipVersion(ip.IPAddress), "addr": ip.IPAddress,
				"OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": p.MAC})
		}
		var fips struct {
			FloatingIPs []struct {
				FloatingIP string `json:"floating_ip_address"`
			} `json:"floatingips"`
		}
		if err := n.call(r, "network", "GET", "/v2.0/floatingips", url.Values{"port_id": {p.ID}}, nil, &fips); err == nil {
			for _, f := range fips.FloatingIPs {
				list = append(list, map[string]any{"version": ipVersion(f.FloatingIP), "addr": f.FloatingIP,
					"OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": p.MAC})
			}
		}
		nv.addresses[name] = list
		for _, sg := range p.SecurityGroups {
			if sgSeen[sg] {
				continue
			}
			sgSeen[sg] = true
			var out struct {
				SG struct {
					Name string `json:"name"`
				} `json:"security_group"`
			}
			if err := n.call(r, "network", "GET", "/v2.0/security-groups/"+sg, nil, nil, &out); err == nil {
				nv.secGroups = append(nv.secGroups, out.SG.Name)
			}
		}
	}
	return nv
}

func ipVersion(ip string) int {
	if strings.Contains(ip, ":") {
		return 6
	}
	return 4
}

// netRequest is one entry of a server's "networks".
type netRequest struct {
	NetworkID string
	PortID    string
	FixedIP   string
	Tag       string
}

// resolveNetworks turns the request's networks into concrete requests,
// checking them against Neutron as nova-api does (400 unknown network or
// port, 409 port in use or ambiguous networks). auto: the project's one
// network (or a shared one); none: nothing.
func (n *Nova) resolveNetworks(r *http.Request, mode string, reqs []netRequest) ([]netRequest, error) {
	if mode == "none" {
		return nil, nil
	}
	if !n.has("network") {
		for _, q := range reqs {
			if q.PortID != "" {
				return nil, core.BadRequest("Port id %s could not be found.", q.PortID)
			}
			return nil, core.BadRequest("Network %s could not be found.", q.NetworkID)
		}
		return nil, nil
	}
	if mode == "auto" || len(reqs) == 0 {
		caller := core.IdentityOf(r)
		var own, shared struct {
			Networks []neutronNetwork `json:"networks"`
		}
		if err := n.call(r, "network", "GET", "/v2.0/networks", url.Values{"project_id": {caller.ProjectID}, "shared": {"false"}}, nil, &own); err != nil {
			return nil, core.BadRequest("%s", callMessage(err))
		}
		if err := n.call(r, "network", "GET", "/v2.0/networks", url.Values{"shared": {"true"}}, nil, &shared); err != nil {
			return nil, core.BadRequest("%s", callMessage(err))
		}
		var nets []neutronNetwork
		for _, nw := range append(own.Networks, shared.Networks...) {
			if !nw.External || nw.Shared {
				nets = append(nets, nw)
			}
		}
		switch {
		case len(nets) > 1:
			return nil, core.Conflict("Multiple possible networks found, use a Network ID to be more specific.")
		case len(nets) == 1:
			return []netRequest{{NetworkID: nets[0].ID}}, nil
		case mode == "auto":
			return nil, core.BadRequest("Unable to automatically allocate a network for project %s", caller.ProjectID)
		}
		return nil, nil
	}
	for i, q := range reqs {
		if q.PortID != "" {
			var out struct {
				Port neutronPort `json:"port"`
			}
			if err := n.call(r, "network", "GET", "/v2.0/ports/"+q.PortID, nil, nil, &out); err != nil {
				if callStatus(err) == http.StatusNotFound {
					return nil, core.BadRequest("Port id %s could not be found.", q.PortID)
				}
				return nil, core.BadRequest("%s", callMessage(err))
			}
			if out.Port.DeviceID != "" {
				return nil, core.Conflict("Port %s is still in use.", q.PortID)
			}
			reqs[i].NetworkID = out.Port.NetworkID
			continue
		}
		if _, err := n.network(r, q.NetworkID); err != nil {
			if callStatus(err) == http.StatusNotFound {
				return nil, core.BadRequest("Network %s could not be found.", q.NetworkID)
			}
			return nil, core.BadRequest("%s", callMessage(err))
		}
	}
	return reqs, nil
}

// securityGroupIDs resolves names (or ids) as Nova does before creating
// ports: 400 for an unknown one.
func (n *Nova) securityGroupIDs(r *http.Request, names []string) ([]string, error) {
	if !n.has("network") || len(names) == 0 {
		return nil, nil
	}
	var out struct {
		SGs []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"security_groups"`
	}
	if err := n.call(r, "network", "GET", "/v2.0/security-groups", url.Values{"project_id": {core.IdentityOf(r).ProjectID}}, nil, &out); err != nil {
		return nil, core.BadRequest("%s", callMessage(err))
	}
	var ids []string
	for _, name := range names {
		found := ""
		for _, sg := range out.SGs {
			if sg.ID == name {
				found = sg.ID
				break
			}
		}
		if found == "" {
			for _, sg := range out.SGs {
				if sg.Name == name {
					if found != "" {
						return nil, core.Conflict("Multiple security groups found matching '%s'. Use an ID to be more specific.", name)
					}
					found = sg.ID
				}
			}
		}
		if found == "" {
			return nil, core.BadRequest("Security group %s not found.", name)
		}
		ids = append(ids, found)
	}
	return ids, nil
}

// allocatePort creates (or binds) one port for a server.
func (n *Nova) allocatePort(r *http.Request, serverID string, q netRequest, sgIDs []string, host string) (Port, error) {
	var out struct {
		Port neutronPort `json:"port"`
	}
	if q.PortID != "" {
		body := map[string]any{"port": map[string]any{"device_id": serverID, "device_owner": "compute:" + AZ, "binding:host_id": host}}
		if err := n.call(r, "network", "PUT", "/v2.0/ports/"+q.PortID, nil, body, &out); err != nil {
			return Port{}, err
		}
		return Port{ID: out.Port.ID, NetworkID: out.Port.NetworkID, MAC: out.Port.MAC, Tag: q.Tag}, nil
	}
	p := map[string]any{"network_id": q.NetworkID, "device_id": serverID, "device_owner": "compute:" + AZ, "binding:host_id": host}
	if sgIDs != nil {
		p["security_groups"] = sgIDs
	}
	if q.FixedIP != "" {
		p["fixed_ips"] = []map[string]string{{"ip_address": q.FixedIP}}
	}
	if err := n.call(r, "network", "POST", "/v2.0/ports", nil, map[string]any{"port": p}, &out); err != nil {
		return Port{}, err
	}
	return Port{ID: out.Port.ID, NetworkID: out.Port.NetworkID, MAC: out.Port.MAC, Created: true, Tag: q.Tag}, nil
}

// releasePort deletes a port Nova created, or unbinds one the user gave.
func (n *Nova) releasePort(r *http.Request, p Port) {
	if !n.has("network") {
		return
	}
	var err error
	if p.Created {
		err = n.call(r, "network", "DELETE", "/v2.0/ports/"+p.ID, nil, nil, nil)
	} else {
		err = n.call(r, "network", "PUT", "/v2.0/ports/"+p.ID, nil,
			map[string]any{"port": map[string]any{"device_id": "", "device_owner": "", "binding:host_id": ""}}, nil)
	}
	if err != nil && callStatus(err) != http.StatusNotFound {
		n.env.Log.Info("nova: releasing a port", "port", p.ID, "err", err)
	}
}
