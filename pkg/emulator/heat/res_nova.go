package heat

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// ----------------------------------------------------------- lookups

// findByNameOrID finds a service object by id (GET coll/id) or else by
// name among the listing: Heat's client plugins' find_resource_by_name_or_id.
func (c *rctx) findByNameOrID(service, coll, key, listKey, nameOrID, what string, list func() ([]any, error)) (map[string]any, error) {
	if nameOrID == "" {
		return nil, &svcErr{status: 404, msg: fmt.Sprintf("Unable to find %s with name or id ''", what)}
	}
	if !strings.ContainsAny(nameOrID, "/?#") {
		obj, err := c.get(service, coll+"/"+url.PathEscape(nameOrID), key)
		if err != nil && !isStatus(err, 400) {
			return nil, err
		}
		if obj != nil {
			return obj, nil
		}
	}
	items, err := list()
	if err != nil {
		return nil, err
	}
	var found []map[string]any
	for _, it := range items {
		m := obj(it)
		if m != nil && (m["name"] == nameOrID || m["id"] == nameOrID) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		return nil, &svcErr{status: 404, msg: fmt.Sprintf("Unable to find %s with name or id '%s'", what, nameOrID)}
	case 1:
		return found[0], nil
	}
	return nil, &svcErr{status: 409, typ: "PhysicalResourceNameAmbiguity",
		msg: fmt.Sprintf("Multiple physical resources were found with name (%s).", nameOrID)}
}

func (c *rctx) listOf(service, path string, q url.Values, key string) ([]any, error) {
	var out map[string]any
	if err := c.call(service, http.MethodGet, path, q, nil, &out); err != nil {
		return nil, err
	}
	l, _ := out[key].([]any)
	return l, nil
}

func (c *rctx) flavorID(nameOrID string) (string, error) {
	f, err := c.findByNameOrID("compute", "/v2.1/flavors", "flavor", "flavors", nameOrID, "flavor", func() ([]any, error) {
		return c.listOf("compute", "/v2.1/flavors/detail", nil, "flavors")
	})
	if isStatus(err, 404) {
		return "", &svcErr{status: 404, typ: "NotFound", msg: fmt.Sprintf("No Flavor matching {'name': '%s'}. (HTTP 404)", nameOrID)}
	}
	if err != nil {
		return "", err
	}
	return str(f, "id"), nil
}

func (c *rctx) imageID(nameOrID string) (string, error) {
	var img map[string]any
	if uuidRE.MatchString(nameOrID) {
		var out map[string]any
		if err := c.call("image", http.MethodGet, "/v2/images/"+nameOrID, nil, nil, &out); err == nil {
			img = out
		}
	}
	if img == nil {
		l, err := c.listOf("image", "/v2/images", url.Values{"name": {nameOrID}}, "images")
		if err != nil {
			return "", err
		}
		switch len(l) {
		case 0:
			return "", &svcErr{status: 404, typ: "NotFound", msg: fmt.Sprintf("No images matching {'name': '%s'}.", nameOrID)}
		case 1:
			img = obj(l[0])
		default:
			return "", &svcErr{status: 409, typ: "NoUniqueMatch", msg: fmt.Sprintf("Multiple images matching {'name': '%s'}.", nameOrID)}
		}
	}
	return str(img, "id"), nil
}

func (c *rctx) neutronID(kind, nameOrID string) (string, error) {
	coll := "/v2.0/" + kind + "s"
	if kind == "security_group" {
		coll = "/v2.0/security-groups"
	}
	m, err := c.findByNameOrID("network", coll, kind, kind+"s", nameOrID, kind, func() ([]any, error) {
		return c.listOf("network", coll, url.Values{"name": {nameOrID}}, kind+"s")
	})
	if err != nil {
		return "", err
	}
	return str(m, "id"), nil
}

// ------------------------------------------------------------ Nova

func init() {
	network := pObj(map[string]*prop{"network": pStr(), "port": pStr(), "fixed_ip": pStr(), "subnet": pStr(),
		"floating_ip": pStr(), "port_extra_properties": pMap(), "tag": pStr(), "allocate_network": pStr(),
		"uuid": pStr()})
	bdm := pObj(map[string]*prop{"device_name": pStr(), "volume_id": pStr(), "snapshot_id": pStr(),
		"volume_size": pInt(), "delete_on_termination": pBool()})
	bdm2 := pObj(map[string]*prop{"device_name": pStr(), "volume_id": pStr(), "image_id": pStr(), "image": pStr(),
		"snapshot_id": pStr(), "swap_size": pInt(), "ephemeral_size": pInt(), "ephemeral_format": pStr(),
		"device_type": pStr(), "disk_bus": pStr(), "boot_index": pInt(), "volume_size": pInt(),
		"delete_on_termination": pBool()})
	register(&rtype{name: "OS::Nova::Server", service: "compute",
		attrs: []string{"addresses", "networks", "first_address", "instance_name", "accessIPv4", "accessIPv6",
			"console_urls", "name", "os_collect_config", "tags"},
		props: map[string]*prop{
			"name": pStr().upd(), "image": pStr(), "flavor": pStr().req(), "key_name": pStr(), "admin_pass": pStr().upd(),
			"availability_zone": pStr(), "networks": pList(network), "security_groups": pList(pStr()),
			"user_data": pStr(), "user_data_format": pStr().dflt("HEAT_CFNTOOLS").only("HEAT_CFNTOOLS", "RAW", "SOFTWARE_CONFIG"),
			"user_data_update_policy": pStr().dflt("REPLACE").only("REPLACE", "IGNORE"),
			"metadata":                pMap().upd(), "config_drive": pBool(), "block_device_mapping": pList(bdm),
			"block_device_mapping_v2": pList(bdm2), "scheduler_hints": pMap(), "software_config_transport": pStr(),
			"personality": pMap(), "tags": pList(pStr()).upd(), "flavor_update_policy": pStr().dflt("RESIZE").only("RESIZE", "REPLACE"),
			"image_update_policy": pStr().dflt("REBUILD").only("REBUILD", "REPLACE", "REBUILD_PRESERVE_EPHEMERAL"),
			"diskConfig":          pStr().only("AUTO", "MANUAL"), "reservation_id": pStr(), "deployment_swift_data": pMap(),
		},
		create: createServer,
		ready: func(c *rctx, r *Resource) (bool, error) {
			s, err := c.get("compute", "/v2.1/servers/"+r.PhysicalID, "server")
			if err != nil {
				return false, err
			}
			if s == nil {
				return false, &svcErr{status: 404, typ: "ResourceInError", msg: "Went to status DELETED due to \"Unknown\""}
			}
			switch str(s, "status") {
			case "ACTIVE":
				return true, nil
			case "ERROR":
				f := obj(s["fault"])
				return false, inError("ERROR", fmt.Sprintf("Message: %s, Code: %s", str(f, "message"), str(f, "code")))
			}
			return false, nil
		},
		update: func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			body := map[string]any{}
			for _, k := range changed {
				switch k {
				case "name":
					body["name"] = c.nameOr(p, r)
				case "metadata":
					md := map[string]any{}
					for k2, v := range obj(p["metadata"]) {
						md[k2] = pyStr(v)
					}
					if err := c.call("compute", http.MethodPut, "/v2.1/servers/"+r.PhysicalID+"/metadata", nil,
						map[string]any{"metadata": md}, nil); err != nil {
						return err
					}
				case "admin_pass":
					if err := c.call("compute", http.MethodPost, "/v2.1/servers/"+r.PhysicalID+"/action", nil,
						map[string]any{"changePassword": map[string]any{"adminPass": str(p, "admin_pass")}}, nil); err != nil {
						return err
					}
				case "tags":
				}
			}
			if len(body) > 0 {
				return c.call("compute", http.MethodPut, "/v2.1/servers/"+r.PhysicalID, nil, map[string]any{"server": body}, nil)
			}
			return nil
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("compute", http.MethodDelete, "/v2.1/servers/"+r.PhysicalID, nil, nil, nil)
		},
		gone: func(c *rctx, r *Resource) (bool, error) {
			s, err := c.get("compute", "/v2.1/servers/"+r.PhysicalID, "server")
			if err != nil || s != nil {
				return false, err
			}
			// The ports Heat made for subnets go with the server.
			for _, p := range strings.Fields(r.Data["internal_ports"]) {
				if err := c.call("network", http.MethodDelete, "/v2.0/ports/"+p, nil, nil, nil); err != nil && !isStatus(err, 404) {
					return false, err
				}
			}
			return true, nil
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) {
			return c.get("compute", "/v2.1/servers/"+r.PhysicalID, "server")
		},
		attr: serverAttr,
	})

	register(&rtype{name: "OS::Nova::KeyPair", service: "compute", attrs: []string{"public_key", "private_key"},
		props: map[string]*prop{"name": pStr().req(), "save_private_key": pBool().dflt(false), "public_key": pStr(),
			"type": pStr().only("ssh", "x509"), "user": pStr()},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			kp := map[string]any{"name": str(p, "name")}
			setIf(kp, p, "public_key", "public_key")
			var out struct {
				Keypair map[string]any `json:"keypair"`
			}
			if err := c.call("compute", http.MethodPost, "/v2.1/os-keypairs", nil, map[string]any{"keypair": kp}, &out); err != nil {
				return err
			}
			r.PhysicalID = str(p, "name")
			r.Data = map[string]string{"public_key": str(out.Keypair, "public_key")}
			if p["save_private_key"] == true {
				r.Data["private_key"] = str(out.Keypair, "private_key")
			}
			return nil
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("compute", http.MethodDelete, "/v2.1/os-keypairs/"+url.PathEscape(r.PhysicalID), nil, nil, nil)
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) {
			return c.get("compute", "/v2.1/os-keypairs/"+url.PathEscape(r.PhysicalID), "keypair")
		},
		attr: func(c *rctx, r *Resource, name string) (any, error) {
			switch name {
			case "public_key":
				return r.Data["public_key"], nil
			case "private_key":
				return r.Data["private_key"], nil
			}
			return nil, nil
		},
	})

	register(&rtype{name: "OS::Nova::ServerGroup", service: "compute",
		props: map[string]*prop{"name": pStr(), "policies": pList(pStr().only("anti-affinity", "affinity",
			"soft-anti-affinity", "soft-affinity")).dflt([]any{"anti-affinity"})},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			var out struct {
				ServerGroup map[string]any `json:"server_group"`
			}
			if err := c.call("compute", http.MethodPost, "/v2.1/os-server-groups", nil, map[string]any{"server_group": map[string]any{
				"name": c.nameOr(p, r), "policies": p["policies"]}}, &out); err != nil {
				return err
			}
			r.PhysicalID = str(out.ServerGroup, "id")
			return nil
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("compute", http.MethodDelete, "/v2.1/os-server-groups/"+r.PhysicalID, nil, nil, nil)
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) {
			return c.get("compute", "/v2.1/os-server-groups/"+r.PhysicalID, "server_group")
		},
	})
}

// createServer is OS::Nova::Server's handle_create: names resolved to
// ids (image, flavor, networks), ports made for subnets.
func createServer(c *rctx, r *Resource, p map[string]any) error {
	srv := map[string]any{"name": c.nameOr(p, r)}
	fid, err := c.flavorID(str(p, "flavor"))
	if err != nil {
		return err
	}
	srv["flavorRef"] = fid
	if img := str(p, "image"); img != "" {
		id, err := c.imageID(img)
		if err != nil {
			return err
		}
		srv["imageRef"] = id
	}
	setIf(srv, p, "key_name", "key_name")
	setIf(srv, p, "availability_zone", "availability_zone")
	setIf(srv, p, "admin_pass", "adminPass")
	setIf(srv, p, "config_drive", "config_drive")
	if md := obj(p["metadata"]); len(md) > 0 {
		m := map[string]any{}
		for k, v := range md {
			m[k] = pyStr(v)
		}
		srv["metadata"] = m
	}
	if ud := str(p, "user_data"); ud != "" {
		srv["user_data"] = base64.StdEncoding.EncodeToString([]byte(ud))
	}
	if sgs := list(p, "security_groups"); len(sgs) > 0 {
		var l []any
		for _, g := range sgs {
			l = append(l, map[string]any{"name": pyStr(g)})
		}
		srv["security_groups"] = l
	}
	var internal []string
	if nets := list(p, "networks"); len(nets) > 0 {
		var l []any
		for _, n := range nets {
			m := obj(n)
			entry := map[string]any{}
			switch {
			case str(m, "port") != "":
				id, err := c.neutronID("port", str(m, "port"))
				if err != nil {
					return err
				}
				entry["port"] = id
			case str(m, "subnet") != "":
				sid, err := c.neutronID("subnet", str(m, "subnet"))
				if err != nil {
					return err
				}
				sn, err := c.get("network", "/v2.0/subnets/"+sid, "subnet")
				if err != nil {
					return err
				}
				fixed := map[string]any{"subnet_id": sid}
				setIf(fixed, m, "fixed_ip", "ip_address")
				var out struct{ Port map[string]any }
				if err := c.call("network", http.MethodPost, "/v2.0/ports", nil, map[string]any{"port": map[string]any{
					"network_id": str(sn, "network_id"), "fixed_ips": []any{fixed}, "name": srv["name"].(string) + "-port"}}, &out); err != nil {
					return err
				}
				internal = append(internal, str(out.Port, "id"))
				entry["port"] = str(out.Port, "id")
			case str(m, "network") != "" || str(m, "uuid") != "":
				nid := str(m, "network")
				if nid == "" {
					nid = str(m, "uuid")
				}
				id, err := c.neutronID("network", nid)
				if err != nil {
					return err
				}
				entry["uuid"] = id
				setIf(entry, m, "fixed_ip", "fixed_ip")
			default:
				setIf(entry, m, "fixed_ip", "fixed_ip")
			}
			l = append(l, entry)
		}
		srv["networks"] = l
	}
	if bdms := list(p, "block_device_mapping_v2"); len(bdms) > 0 {
		var l []any
		for _, b := range bdms {
			m := obj(b)
			e := map[string]any{}
			switch {
			case str(m, "volume_id") != "":
				e["source_type"], e["uuid"], e["destination_type"] = "volume", str(m, "volume_id"), "volume"
			case str(m, "image") != "" || str(m, "image_id") != "":
				img := str(m, "image")
				if img == "" {
					img = str(m, "image_id")
				}
				id, err := c.imageID(img)
				if err != nil {
					return err
				}
				e["source_type"], e["uuid"] = "image", id
				e["destination_type"] = "local"
				if m["volume_size"] != nil {
					e["destination_type"], e["volume_size"] = "volume", m["volume_size"]
				}
			case str(m, "snapshot_id") != "":
				e["source_type"], e["uuid"], e["destination_type"] = "snapshot", str(m, "snapshot_id"), "volume"
			default:
				e["source_type"], e["destination_type"] = "blank", "local"
			}
			setIf(e, m, "boot_index", "boot_index")
			setIf(e, m, "device_name", "device_name")
			setIf(e, m, "delete_on_termination", "delete_on_termination")
			l = append(l, e)
		}
		srv["block_device_mapping_v2"] = l
	} else if bdms := list(p, "block_device_mapping"); len(bdms) > 0 {
		var l []any
		for _, b := range bdms {
			m := obj(b)
			e := map[string]any{"device_name": str(m, "device_name")}
			if v := str(m, "volume_id"); v != "" {
				e["volume_id"] = v
			}
			if v := str(m, "snapshot_id"); v != "" {
				e["snapshot_id"] = v
			}
			setIf(e, m, "volume_size", "volume_size")
			setIf(e, m, "delete_on_termination", "delete_on_termination")
			l = append(l, e)
		}
		srv["block_device_mapping"] = l
	}
	body := map[string]any{"server": srv}
	if h := obj(p["scheduler_hints"]); len(h) > 0 {
		body["os:scheduler_hints"] = h
	}
	var out struct{ Server map[string]any }
	if err := c.call("compute", http.MethodPost, "/v2.1/servers", nil, body, &out); err != nil {
		for _, id := range internal {
			_ = c.call("network", http.MethodDelete, "/v2.0/ports/"+id, nil, nil, nil)
		}
		return err
	}
	r.PhysicalID = str(out.Server, "id")
	if len(internal) > 0 {
		r.Data = map[string]string{"internal_ports": strings.Join(internal, " ")}
	}
	return nil
}

// serverAttr is OS::Nova::Server's _resolve_attribute.
func serverAttr(c *rctx, r *Resource, name string) (any, error) {
	s, err := c.showOf(registry[r.Type], r)
	if err != nil || s == nil {
		return nil, err
	}
	addrs := obj(s["addresses"])
	switch name {
	case "addresses":
		return addrs, nil
	case "networks":
		out := map[string]any{}
		names := sortedKeys(addrs)
		for _, n := range names {
			var ips []any
			for _, a := range addrs[n].([]any) {
				ips = append(ips, obj(a)["addr"])
			}
			out[n] = ips
			if id, err := c.neutronID("network", n); err == nil {
				out[id] = ips
			}
		}
		return out, nil
	case "first_address":
		for _, n := range sortedKeys(addrs) {
			for _, a := range addrs[n].([]any) {
				if v := obj(a)["version"]; fmt.Sprint(v) == "4" {
					return obj(a)["addr"], nil
				}
			}
		}
		return "", nil
	case "instance_name":
		return s["OS-EXT-SRV-ATTR:instance_name"], nil
	case "accessIPv4", "accessIPv6", "name":
		return s[name], nil
	case "console_urls":
		return map[string]any{}, nil
	case "os_collect_config":
		return map[string]any{}, nil
	case "tags":
		return s["tags"], nil
	}
	return nil, nil
}

var _ = sort.Strings
