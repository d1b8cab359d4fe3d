package heat

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// ------------------------------------------------------------------ Cinder

func (c *rctx) volumePath(id string) string {
	p := "/v3/" + c.stack.ProjectID + "/volumes"
	if id != "" {
		p += "/" + id
	}
	return p
}

func init() {
	register(&rtype{name: "OS::Cinder::Volume", service: "block-storage",
		attrs: []string{"availability_zone", "size", "snapshot_id", "display_name", "display_description", "volume_type",
			"metadata", "metadata_values", "source_volid", "status", "created_at", "bootable", "encrypted",
			"attachments", "attachments_list", "multiattach"},
		props: map[string]*prop{"size": pInt().upd(), "snapshot_id": pStr(), "backup_id": pStr().upd(), "name": pStr().upd(),
			"description": pStr().upd(), "volume_type": pStr().upd(), "metadata": pMap().upd(), "image_ref": pStr(),
			"image": pStr(), "source_volid": pStr(), "availability_zone": pStr(), "scheduler_hints": pMap(),
			"read_only": pBool().upd(), "multiattach": pBool()},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			v := map[string]any{"name": c.nameOr(p, r)}
			for _, k := range []string{"size", "description", "volume_type", "metadata", "availability_zone",
				"snapshot_id", "source_volid", "backup_id", "multiattach"} {
				setIf(v, p, k, k)
			}
			img := str(p, "image")
			if img == "" {
				img = str(p, "image_ref")
			}
			if img != "" {
				id, err := c.imageID(img)
				if err != nil {
					return err
				}
				v["imageRef"] = id
			}
			var out struct{ Volume map[string]any }
			if err := c.call("block-storage", http.MethodPost, c.volumePath(""), nil, map[string]any{"volume": v}, &out); err != nil {
				return err
			}
			r.PhysicalID = str(out.Volume, "id")
			return nil
		},
		ready: func(c *rctx, r *Resource) (bool, error) {
			v, err := c.get("block-storage", c.volumePath(r.PhysicalID), "volume")
			if err != nil {
				return false, err
			}
			if v == nil {
				return false, inError("deleted", "Unknown")
			}
			switch s := str(v, "status"); s {
			case "available", "in-use":
				return true, nil
			case "error", "error_extending", "error_restoring":
				return false, inError(s, "Unknown")
			}
			return false, nil
		},
		update: func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			body := map[string]any{}
			for _, k := range changed {
				switch k {
				case "name":
					body["name"] = c.nameOr(p, r)
				case "description":
					body["description"] = str(p, "description")
				case "metadata":
					if err := c.call("block-storage", http.MethodPut, c.volumePath(r.PhysicalID)+"/metadata", nil,
						map[string]any{"metadata": obj(p["metadata"])}, nil); err != nil {
						return err
					}
				case "size":
					old := num(r.Props, "size")
					if n := num(p, "size"); n < old {
						return &svcErr{status: 0, typ: "NotSupported", msg: fmt.Sprintf("Shrinking volume is not supported.")}
					} else if n > old {
						if err := c.call("block-storage", http.MethodPost, c.volumePath(r.PhysicalID)+"/action", nil,
							map[string]any{"os-extend": map[string]any{"new_size": n}}, nil); err != nil {
							return err
						}
					}
				case "volume_type":
					if err := c.call("block-storage", http.MethodPost, c.volumePath(r.PhysicalID)+"/action", nil,
						map[string]any{"os-retype": map[string]any{"new_type": str(p, "volume_type"), "migration_policy": "never"}}, nil); err != nil {
						return err
					}
				case "read_only":
					if err := c.call("block-storage", http.MethodPost, c.volumePath(r.PhysicalID)+"/action", nil,
						map[string]any{"os-update_readonly_flag": map[string]any{"readonly": p["read_only"]}}, nil); err != nil {
						return err
					}
				}
			}
			if len(body) == 0 {
				return nil
			}
			return c.call("block-storage", http.MethodPut, c.volumePath(r.PhysicalID), nil, map[string]any{"volume": body}, nil)
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("block-storage", http.MethodDelete, c.volumePath(r.PhysicalID), nil, nil, nil)
		},
		gone: func(c *rctx, r *Resource) (bool, error) {
			v, err := c.get("block-storage", c.volumePath(r.PhysicalID), "volume")
			if err != nil {
				return false, err
			}
			if v != nil && str(v, "status") == "error_deleting" {
				return false, inError("error_deleting", "Unknown")
			}
			return v == nil, nil
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) {
			return c.get("block-storage", c.volumePath(r.PhysicalID), "volume")
		},
		attr: func(c *rctx, r *Resource, name string) (any, error) {
			v, err := c.showOf(registry[r.Type], r)
			if err != nil || v == nil {
				return nil, err
			}
			switch name {
			case "display_name":
				return v["name"], nil
			case "display_description":
				return v["description"], nil
			case "metadata":
				return jsonStr(orDefault(v["metadata"], map[string]any{})), nil
			case "metadata_values":
				return v["metadata"], nil
			case "attachments":
				return jsonStr(orDefault(v["attachments"], []any{})), nil
			case "attachments_list":
				return v["attachments"], nil
			}
			return v[name], nil
		},
	})

	register(&rtype{name: "OS::Cinder::VolumeAttachment", service: "block-storage",
		props: map[string]*prop{"instance_uuid": pStr().req().upd(), "volume_id": pStr().req().upd(), "mountpoint": pStr().upd()},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			body := map[string]any{"volumeId": str(p, "volume_id")}
			setIf(body, p, "mountpoint", "device")
			var out struct {
				VolumeAttachment map[string]any `json:"volumeAttachment"`
			}
			if err := c.call("compute", http.MethodPost, "/v2.1/servers/"+str(p, "instance_uuid")+"/os-volume_attachments", nil,
				map[string]any{"volumeAttachment": body}, &out); err != nil {
				return err
			}
			r.PhysicalID = str(out.VolumeAttachment, "id")
			r.Data = map[string]string{"server": str(p, "instance_uuid"), "volume": str(p, "volume_id")}
			return nil
		},
		ready: func(c *rctx, r *Resource) (bool, error) {
			v, err := c.get("block-storage", c.volumePath(r.Data["volume"]), "volume")
			if err != nil || v == nil {
				return false, err
			}
			if s := str(v, "status"); s == "error_attaching" {
				return false, inError(s, "Unknown")
			}
			return str(v, "status") == "in-use", nil
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("compute", http.MethodDelete, "/v2.1/servers/"+r.Data["server"]+"/os-volume_attachments/"+r.Data["volume"], nil, nil, nil)
		},
		gone: func(c *rctx, r *Resource) (bool, error) {
			v, err := c.get("block-storage", c.volumePath(r.Data["volume"]), "volume")
			if err != nil {
				return false, err
			}
			return v == nil || str(v, "status") == "available", nil
		},
	})
}

// ------------------------------------------------------------------- Swift

func (c *rctx) containerPath(name string) string {
	return "/v1/AUTH_" + c.stack.ProjectID + "/" + url.PathEscape(name)
}

func init() {
	register(&rtype{name: "OS::Swift::Container", service: "object-store",
		attrs: []string{"DomainName", "WebsiteURL", "RootURL", "ObjectCount", "BytesUsed", "HeadContainer"},
		props: map[string]*prop{"name": pStr(), "X-Container-Read": pStr(), "X-Container-Write": pStr(),
			"X-Container-Meta": pMap().dflt(map[string]any{}), "X-Account-Meta": pMap().dflt(map[string]any{}),
			"PurgeOnDelete": pBool().dflt(false)},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			name := c.nameOr(p, r)
			hdr := http.Header{}
			for _, k := range []string{"X-Container-Read", "X-Container-Write"} {
				if v := str(p, k); v != "" {
					hdr.Set(k, v)
				}
			}
			for k, v := range obj(p["X-Container-Meta"]) {
				hdr.Set("X-Container-Meta-"+k, pyStr(v))
			}
			if err := c.callH("object-store", http.MethodPut, c.containerPath(name), nil, hdr, nil, nil); err != nil {
				return err
			}
			if am := obj(p["X-Account-Meta"]); len(am) > 0 {
				ah := http.Header{}
				for k, v := range am {
					ah.Set("X-Account-Meta-"+k, pyStr(v))
				}
				if err := c.callH("object-store", http.MethodPost, "/v1/AUTH_"+c.stack.ProjectID, nil, ah, nil, nil); err != nil {
					return err
				}
			}
			r.PhysicalID = name
			if p["PurgeOnDelete"] == true {
				r.Data = map[string]string{"purge": "true"}
			}
			return nil
		},
		del: func(c *rctx, r *Resource) error {
			if r.Data["purge"] == "true" {
				var objs []map[string]any
				if err := c.call("object-store", http.MethodGet, c.containerPath(r.PhysicalID), url.Values{"format": {"json"}}, nil, &objs); err != nil && !isStatus(err, 404) {
					return err
				}
				for _, o := range objs {
					if err := c.call("object-store", http.MethodDelete, c.containerPath(r.PhysicalID)+"/"+str(o, "name"), nil, nil, nil); err != nil && !isStatus(err, 404) {
						return err
					}
				}
			}
			return c.call("object-store", http.MethodDelete, c.containerPath(r.PhysicalID), nil, nil, nil)
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) {
			var objs []map[string]any
			if err := c.call("object-store", http.MethodGet, c.containerPath(r.PhysicalID), url.Values{"format": {"json"}}, nil, &objs); err != nil {
				if isStatus(err, 404) {
					return nil, nil
				}
				return nil, err
			}
			var bytes int64
			for _, o := range objs {
				bytes += num(o, "bytes")
			}
			return map[string]any{"x-container-object-count": len(objs), "x-container-bytes-used": bytes}, nil
		},
		attr: func(c *rctx, r *Resource, name string) (any, error) {
			root := "http://" + c.stack.Host + "/object-store/v1/AUTH_" + c.stack.ProjectID + "/" + url.PathEscape(r.PhysicalID)
			switch name {
			case "DomainName":
				return strings.Split(c.stack.Host, ":")[0], nil
			case "WebsiteURL":
				return root, nil
			case "RootURL":
				return "http://" + c.stack.Host + "/object-store/v1/AUTH_" + c.stack.ProjectID + "/", nil
			}
			s, err := c.showOf(registry[r.Type], r)
			if err != nil || s == nil {
				return nil, err
			}
			switch name {
			case "ObjectCount":
				return s["x-container-object-count"], nil
			case "BytesUsed":
				return s["x-container-bytes-used"], nil
			case "HeadContainer":
				return s, nil
			}
			return nil, nil
		},
		ref: func(r *Resource) any { return r.PhysicalID },
	})
}

// ----------------------------------------------------------------- Octavia

// octaviaStatus waits for an Octavia object to be ACTIVE (ERROR fails).
func (c *rctx) octaviaStatus(path, key string) (bool, error) {
	o, err := c.get("load-balancer", path, key)
	if err != nil {
		return false, err
	}
	if o == nil {
		return false, inError("DELETED", "Unknown")
	}
	switch s := str(o, "provisioning_status"); s {
	case "ACTIVE":
		return true, nil
	case "ERROR":
		return false, inError(s, "Unknown")
	}
	return false, nil
}

// octaviaBusy is Octavia's 409 on an immutable load balancer: try again.
func octaviaBusy(err error) error {
	if isStatus(err, 409) && strings.Contains(err.Error(), "immutable") || isStatus(err, 409) && strings.Contains(err.Error(), "Invalid state") {
		return errRetry
	}
	return err
}

func (c *rctx) octaviaID(coll, key, nameOrID string) (string, error) {
	m, err := c.findByNameOrID("load-balancer", "/v2/lbaas/"+coll, key, coll, nameOrID, strings.TrimSuffix(key, "s"), func() ([]any, error) {
		return c.listOf("load-balancer", "/v2/lbaas/"+coll, url.Values{"name": {nameOrID}}, coll)
	})
	if err != nil {
		return "", err
	}
	return str(m, "id"), nil
}

// octaviaRes is the common shape of the Octavia resources.
type octaviaRes struct {
	name, coll, key string
	props           map[string]*prop
	attrs           []string
	build           func(c *rctx, r *Resource, p map[string]any) (map[string]any, error)
	change          func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error)
	path            func(r *Resource) string
}

func (o octaviaRes) register() {
	path := o.path
	if path == nil {
		path = func(r *Resource) string { return "/v2/lbaas/" + o.coll + "/" + r.PhysicalID }
	}
	t := &rtype{name: o.name, service: "load-balancer", props: o.props, attrs: o.attrs,
		create: func(c *rctx, r *Resource, p map[string]any) error {
			body, err := o.build(c, r, p)
			if err != nil {
				return err
			}
			collPath := "/v2/lbaas/" + o.coll
			if pp := r.Data["parent_path"]; pp != "" {
				collPath = pp
			}
			var out map[string]any
			if err := c.call("load-balancer", http.MethodPost, collPath, nil, map[string]any{o.key: body}, &out); err != nil {
				return octaviaBusy(err)
			}
			r.PhysicalID = str(obj(out[o.key]), "id")
			return nil
		},
		ready: func(c *rctx, r *Resource) (bool, error) { return c.octaviaStatus(path(r), o.key) },
		del: func(c *rctx, r *Resource) error {
			return octaviaBusy(c.call("load-balancer", http.MethodDelete, path(r), nil, nil, nil))
		},
		gone: func(c *rctx, r *Resource) (bool, error) {
			x, err := c.get("load-balancer", path(r), o.key)
			if err != nil {
				return false, err
			}
			return x == nil || str(x, "provisioning_status") == "DELETED", nil
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) { return c.get("load-balancer", path(r), o.key) },
	}
	if o.change != nil {
		t.update = func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			body, err := o.change(c, r, p, changed)
			if err != nil || len(body) == 0 {
				return err
			}
			return octaviaBusy(c.call("load-balancer", http.MethodPut, path(r), nil, map[string]any{o.key: body}, nil))
		}
	}
	register(t)
}

func copyProps(b, p map[string]any, keys ...string) {
	for _, k := range keys {
		setIf(b, p, k, k)
	}
}

func init() {
	octaviaRes{name: "OS::Octavia::LoadBalancer", coll: "loadbalancers", key: "loadbalancer",
		attrs: []string{"vip_address", "vip_port_id", "vip_subnet_id", "pools", "listeners", "flavor_id", "provisioning_status", "operating_status"},
		props: map[string]*prop{"description": pStr().upd(), "name": pStr().upd(), "provider": pStr(), "vip_address": pStr(),
			"vip_subnet": pStr(), "vip_network": pStr(), "admin_state_up": pBool().upd().dflt(true), "tenant_id": pStr(),
			"flavor": pStr(), "availability_zone": pStr()},
		build: func(c *rctx, r *Resource, p map[string]any) (map[string]any, error) {
			b := map[string]any{"name": c.nameOr(p, r), "admin_state_up": p["admin_state_up"]}
			copyProps(b, p, "description", "provider", "vip_address", "availability_zone")
			if s := str(p, "vip_subnet"); s != "" {
				id, err := c.neutronID("subnet", s)
				if err != nil {
					return nil, err
				}
				b["vip_subnet_id"] = id
			}
			if n := str(p, "vip_network"); n != "" {
				id, err := c.neutronID("network", n)
				if err != nil {
					return nil, err
				}
				b["vip_network_id"] = id
			}
			if b["vip_subnet_id"] == nil && b["vip_network_id"] == nil {
				return nil, propErr(r.Name, nil, "At least one of the following properties must be specified: vip_subnet, vip_network.")
			}
			if f := str(p, "flavor"); f != "" {
				id, err := c.octaviaID("flavors", "flavor", f)
				if err != nil {
					return nil, err
				}
				b["flavor_id"] = id
			}
			return b, nil
		},
		change: func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error) {
			b := plainChanges(p, changed, map[string]string{"description": "description", "admin_state_up": "admin_state_up"})
			for _, k := range changed {
				if k == "name" {
					b["name"] = c.nameOr(p, r)
				}
			}
			return b, nil
		},
	}.register()

	listenerProps := map[string]*prop{"loadbalancer": pStr(), "default_pool": pStr().upd(), "name": pStr().upd(),
		"protocol_port": pInt().req(), "protocol": pStr().req().only("TCP", "HTTP", "HTTPS", "TERMINATED_HTTPS", "PROXY", "UDP", "SCTP", "PROMETHEUS"),
		"description": pStr().upd(), "admin_state_up": pBool().upd().dflt(true), "connection_limit": pInt().upd(),
		"default_tls_container_ref": pStr().upd(), "sni_container_refs": pList(pStr()).upd(), "tenant_id": pStr(),
		"allowed_cidrs": pList(pStr()).upd(), "timeout_client_data": pInt().upd(), "timeout_member_connect": pInt().upd(),
		"timeout_member_data": pInt().upd(), "timeout_tcp_inspect": pInt().upd(), "insert_headers": pMap().upd(),
		"tls_versions": pList(pStr()).upd(), "tls_ciphers": pStr().upd(), "alpn_protocols": pList(pStr()).upd()}
	octaviaRes{name: "OS::Octavia::Listener", coll: "listeners", key: "listener", props: listenerProps,
		attrs: []string{"loadbalancers", "default_pool_id"},
		build: func(c *rctx, r *Resource, p map[string]any) (map[string]any, error) {
			b := map[string]any{"name": c.nameOr(p, r), "protocol": p["protocol"], "protocol_port": p["protocol_port"],
				"admin_state_up": p["admin_state_up"]}
			copyProps(b, p, "description", "connection_limit", "default_tls_container_ref", "sni_container_refs", "allowed_cidrs",
				"timeout_client_data", "timeout_member_connect", "timeout_member_data", "timeout_tcp_inspect", "insert_headers",
				"tls_versions", "tls_ciphers", "alpn_protocols")
			if lb := str(p, "loadbalancer"); lb != "" {
				id, err := c.octaviaID("loadbalancers", "loadbalancer", lb)
				if err != nil {
					return nil, err
				}
				b["loadbalancer_id"] = id
			} else {
				return nil, propErr(r.Name, nil, "Property loadbalancer not assigned")
			}
			if dp := str(p, "default_pool"); dp != "" {
				id, err := c.octaviaID("pools", "pool", dp)
				if err != nil {
					return nil, err
				}
				b["default_pool_id"] = id
			}
			return b, nil
		},
		change: func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error) {
			b := map[string]any{}
			for _, k := range changed {
				switch k {
				case "name":
					b["name"] = c.nameOr(p, r)
				case "default_pool":
					b["default_pool_id"] = nil
					if dp := str(p, "default_pool"); dp != "" {
						id, err := c.octaviaID("pools", "pool", dp)
						if err != nil {
							return nil, err
						}
						b["default_pool_id"] = id
					}
				default:
					b[k] = p[k]
				}
			}
			return b, nil
		},
	}.register()

	sp := pObj(map[string]*prop{"type": pStr().req().only("SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"), "cookie_name": pStr()})
	octaviaRes{name: "OS::Octavia::Pool", coll: "pools", key: "pool",
		attrs: []string{"healthmonitor_id", "listeners", "members"},
		props: map[string]*prop{"admin_state_up": pBool().upd().dflt(true), "description": pStr().upd(),
			"session_persistence": sp, "name": pStr().upd(), "lb_algorithm": pStr().req().upd().only("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"),
			"listener": pStr(), "loadbalancer": pStr(), "protocol": pStr().req().only("TCP", "HTTP", "HTTPS", "TERMINATED_HTTPS", "PROXY", "PROXYV2", "UDP", "SCTP"),
			"tls_enabled": pBool().upd().dflt(false), "tenant_id": pStr()},
		build: func(c *rctx, r *Resource, p map[string]any) (map[string]any, error) {
			b := map[string]any{"name": c.nameOr(p, r), "protocol": p["protocol"], "lb_algorithm": p["lb_algorithm"],
				"admin_state_up": p["admin_state_up"], "tls_enabled": p["tls_enabled"]}
			copyProps(b, p, "description", "session_persistence")
			if l := str(p, "listener"); l != "" {
				id, err := c.octaviaID("listeners", "listener", l)
				if err != nil {
					return nil, err
				}
				b["listener_id"] = id
			}
			if lb := str(p, "loadbalancer"); lb != "" {
				id, err := c.octaviaID("loadbalancers", "loadbalancer", lb)
				if err != nil {
					return nil, err
				}
				b["loadbalancer_id"] = id
			}
			if b["listener_id"] == nil && b["loadbalancer_id"] == nil {
				return nil, propErr(r.Name, nil, "At least one of the following properties must be specified: listener, loadbalancer.")
			}
			return b, nil
		},
		change: func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error) {
			b := map[string]any{}
			for _, k := range changed {
				if k == "name" {
					b["name"] = c.nameOr(p, r)
				} else {
					b[k] = p[k]
				}
			}
			return b, nil
		},
	}.register()

	memberPath := func(r *Resource) string { return "/v2/lbaas/pools/" + r.Data["pool_id"] + "/members/" + r.PhysicalID }
	octaviaRes{name: "OS::Octavia::PoolMember", coll: "members", key: "member", path: memberPath,
		attrs: []string{"address", "pool_id"},
		props: map[string]*prop{"pool": pStr().req(), "address": pStr().req(), "protocol_port": pInt().req(),
			"monitor_address": pStr().upd(), "monitor_port": pInt().upd(), "weight": pInt().upd().dflt(int64(1)),
			"admin_state_up": pBool().upd().dflt(true), "subnet": pStr(), "backup": pBool().upd(), "name": pStr().upd(), "tenant_id": pStr()},
		build: func(c *rctx, r *Resource, p map[string]any) (map[string]any, error) {
			pid, err := c.octaviaID("pools", "pool", str(p, "pool"))
			if err != nil {
				return nil, err
			}
			r.Data = map[string]string{"pool_id": pid, "parent_path": "/v2/lbaas/pools/" + pid + "/members"}
			b := map[string]any{"address": p["address"], "protocol_port": p["protocol_port"], "weight": p["weight"],
				"admin_state_up": p["admin_state_up"]}
			copyProps(b, p, "monitor_address", "monitor_port", "backup", "name")
			if s := str(p, "subnet"); s != "" {
				id, err := c.neutronID("subnet", s)
				if err != nil {
					return nil, err
				}
				b["subnet_id"] = id
			}
			return b, nil
		},
		change: func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error) {
			b := map[string]any{}
			for _, k := range changed {
				b[k] = p[k]
			}
			return b, nil
		},
	}.register()
	registry["OS::Octavia::PoolMember"].attr = func(c *rctx, r *Resource, name string) (any, error) {
		if name == "pool_id" {
			return r.Data["pool_id"], nil
		}
		s, err := c.showOf(registry[r.Type], r)
		if err != nil || s == nil {
			return nil, err
		}
		return s[name], nil
	}

	octaviaRes{name: "OS::Octavia::HealthMonitor", coll: "healthmonitors", key: "healthmonitor",
		attrs: []string{"pools"},
		props: map[string]*prop{"admin_state_up": pBool().upd().dflt(true), "delay": pInt().req().upd(),
			"expected_codes": pStr().upd(), "http_method": pStr().upd(), "max_retries": pInt().req().upd(),
			"max_retries_down": pInt().upd(), "pool": pStr().req(), "timeout": pInt().req().upd(),
			"type":     pStr().req().only("HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP"),
			"url_path": pStr().upd(), "tenant_id": pStr()},
		build: func(c *rctx, r *Resource, p map[string]any) (map[string]any, error) {
			pid, err := c.octaviaID("pools", "pool", str(p, "pool"))
			if err != nil {
				return nil, err
			}
			b := map[string]any{"pool_id": pid}
			copyProps(b, p, "admin_state_up", "delay", "expected_codes", "http_method", "max_retries", "max_retries_down",
				"timeout", "type", "url_path")
			return b, nil
		},
		change: func(c *rctx, r *Resource, p map[string]any, changed []string) (map[string]any, error) {
			b := map[string]any{}
			for _, k := range changed {
				b[k] = p[k]
			}
			return b, nil
		},
	}.register()
}

// --------------------------------------------------------------- Designate

func init() {
	register(&rtype{name: "OS::Designate::Zone", service: "dns", attrs: []string{"serial"},
		props: map[string]*prop{"name": pStr().req(), "email": pStr().upd(), "ttl": pInt().upd(), "description": pStr().upd(),
			"type": pStr().dflt("PRIMARY").only("PRIMARY", "SECONDARY"), "masters": pList(pStr()).upd()},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			b := map[string]any{"name": p["name"], "type": p["type"]}
			copyProps(b, p, "email", "ttl", "description", "masters")
			var out map[string]any
			if err := c.call("dns", http.MethodPost, "/v2/zones", nil, b, &out); err != nil {
				return err
			}
			r.PhysicalID = str(out, "id")
			return nil
		},
		ready: func(c *rctx, r *Resource) (bool, error) { return c.designateStatus("/v2/zones/" + r.PhysicalID) },
		update: func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			b := map[string]any{}
			for _, k := range changed {
				b[k] = p[k]
			}
			return c.call("dns", http.MethodPatch, "/v2/zones/"+r.PhysicalID, nil, b, nil)
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("dns", http.MethodDelete, "/v2/zones/"+r.PhysicalID, nil, nil, nil)
		},
		gone: func(c *rctx, r *Resource) (bool, error) {
			z, err := c.get("dns", "/v2/zones/"+r.PhysicalID, "")
			return z == nil && err == nil, err
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) { return c.get("dns", "/v2/zones/"+r.PhysicalID, "") },
	})

	register(&rtype{name: "OS::Designate::RecordSet", service: "dns",
		props: map[string]*prop{"name": pStr(), "ttl": pInt().upd(), "description": pStr().upd(),
			"type":    pStr().req().only("A", "AAAA", "CNAME", "MX", "SRV", "TXT", "SPF", "NS", "PTR", "SSHFP", "SOA", "NAPTR", "CAA", "CERT"),
			"records": pList(pStr()).req().upd(), "zone": pStr().req()},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			zid, zname, err := c.zone(str(p, "zone"))
			if err != nil {
				return err
			}
			name := str(p, "name")
			if name == "" {
				name = zname
			} else if !strings.HasSuffix(name, ".") {
				name += "." + zname
			}
			b := map[string]any{"name": name, "type": p["type"], "records": p["records"]}
			copyProps(b, p, "ttl", "description")
			var out map[string]any
			if err := c.call("dns", http.MethodPost, "/v2/zones/"+zid+"/recordsets", nil, b, &out); err != nil {
				return err
			}
			r.PhysicalID = str(out, "id")
			r.Data = map[string]string{"zone_id": zid}
			return nil
		},
		ready: func(c *rctx, r *Resource) (bool, error) {
			return c.designateStatus("/v2/zones/" + r.Data["zone_id"] + "/recordsets/" + r.PhysicalID)
		},
		update: func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			b := map[string]any{}
			for _, k := range changed {
				b[k] = p[k]
			}
			return c.call("dns", http.MethodPut, "/v2/zones/"+r.Data["zone_id"]+"/recordsets/"+r.PhysicalID, nil, b, nil)
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("dns", http.MethodDelete, "/v2/zones/"+r.Data["zone_id"]+"/recordsets/"+r.PhysicalID, nil, nil, nil)
		},
		gone: func(c *rctx, r *Resource) (bool, error) {
			x, err := c.get("dns", "/v2/zones/"+r.Data["zone_id"]+"/recordsets/"+r.PhysicalID, "")
			return x == nil && err == nil, err
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) {
			return c.get("dns", "/v2/zones/"+r.Data["zone_id"]+"/recordsets/"+r.PhysicalID, "")
		},
	})
}

func (c *rctx) designateStatus(path string) (bool, error) {
	x, err := c.get("dns", path, "")
	if err != nil {
		return false, err
	}
	if x == nil {
		return false, inError("DELETED", "Unknown")
	}
	switch s := str(x, "status"); s {
	case "ACTIVE":
		return true, nil
	case "ERROR":
		return false, inError(s, "Unknown")
	}
	return false, nil
}

func (c *rctx) zone(nameOrID string) (string, string, error) {
	if uuidRE.MatchString(nameOrID) {
		if z, err := c.get("dns", "/v2/zones/"+nameOrID, ""); err == nil && z != nil {
			return str(z, "id"), str(z, "name"), nil
		}
	}
	name := nameOrID
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	l, err := c.listOf("dns", "/v2/zones", url.Values{"name": {name}}, "zones")
	if err != nil {
		return "", "", err
	}
	if len(l) != 1 {
		return "", "", &svcErr{status: 404, msg: fmt.Sprintf("Unable to find zone with name or id '%s'", nameOrID)}
	}
	z := obj(l[0])
	return str(z, "id"), str(z, "name"), nil
}

// ------------------------------------------------------------------- Zaqar

func init() {
	register(&rtype{name: "OS::Zaqar::Queue", service: "messaging", attrs: []string{"queue_id", "href"},
		props: map[string]*prop{"name": pStr().req(), "metadata": pMap().upd()},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			md := obj(p["metadata"])
			if md == nil {
				md = map[string]any{}
			}
			if err := c.callH("messaging", http.MethodPut, "/v2/queues/"+url.PathEscape(str(p, "name")), nil, zaqarHeader(), md, nil); err != nil {
				return err
			}
			r.PhysicalID = str(p, "name")
			return nil
		},
		update: func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			var ops []any
			for k, v := range obj(p["metadata"]) {
				ops = append(ops, map[string]any{"op": "add", "path": "/metadata/" + k, "value": v})
			}
			if len(ops) == 0 {
				return nil
			}
			h := zaqarHeader()
			h.Set("Content-Type", "application/openstack-messaging-v2.0-json-patch")
			return c.callH("messaging", http.MethodPatch, "/v2/queues/"+url.PathEscape(r.PhysicalID), nil, h, ops, nil)
		},
		del: func(c *rctx, r *Resource) error {
			return c.callH("messaging", http.MethodDelete, "/v2/queues/"+url.PathEscape(r.PhysicalID), nil, zaqarHeader(), nil, nil)
		},
		attr: func(c *rctx, r *Resource, name string) (any, error) {
			switch name {
			case "queue_id":
				return r.PhysicalID, nil
			case "href":
				return "http://" + c.stack.Host + "/messaging/v2/queues/" + url.PathEscape(r.PhysicalID), nil
			}
			return nil, nil
		},
		ref: func(r *Resource) any { return r.PhysicalID },
	})
}

func zaqarHeader() http.Header {
	h := http.Header{}
	h.Set("Client-ID", core.NewUUID())
	return h
}

// ------------------------------------------------------------------- Trove

func (c *rctx) trovePath(id string) string {
	p := "/v1.0/" + c.stack.ProjectID + "/instances"
	if id != "" {
		p += "/" + id
	}
	return p
}

func init() {
	db := pObj(map[string]*prop{"character_set": pStr().dflt("utf8"), "collate": pStr().dflt("utf8_general_ci"), "name": pStr().req()})
	user := pObj(map[string]*prop{"name": pStr().req(), "password": pStr().req(), "host": pStr().dflt("%"), "databases": pList(pStr()).req()})
	nic := pObj(map[string]*prop{"network": pStr(), "port": pStr(), "fixed_ip": pStr()})
	register(&rtype{name: "OS::Trove::Instance", service: "database", attrs: []string{"hostname", "href"},
		props: map[string]*prop{"name": pStr(), "flavor": pStr().req().upd(), "size": pInt().req().upd(), "volume_type": pStr(),
			"datastore_type": pStr(), "datastore_version": pStr(), "databases": pList(db).upd(), "users": pList(user).upd(),
			"availability_zone": pStr(), "restore_point": pStr(), "networks": pList(nic), "replica_of": pStr(), "replica_count": pInt()},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			fid, err := c.troveFlavor(str(p, "flavor"))
			if err != nil {
				return err
			}
			inst := map[string]any{"name": c.nameOr(p, r), "flavorRef": fid, "volume": map[string]any{"size": p["size"]}}
			if t := str(p, "volume_type"); t != "" {
				inst["volume"].(map[string]any)["type"] = t
			}
			if dt := str(p, "datastore_type"); dt != "" {
				ds := map[string]any{"type": dt}
				setIf(ds, p, "datastore_version", "version")
				inst["datastore"] = ds
			}
			copyProps(inst, p, "databases", "availability_zone", "replica_of", "replica_count")
			if us := list(p, "users"); len(us) > 0 {
				inst["users"] = troveUsers(us)
			}
			if nets := list(p, "networks"); len(nets) > 0 {
				var nics []any
				for _, n := range nets {
					m := obj(n)
					e := map[string]any{}
					if nw := str(m, "network"); nw != "" {
						id, err := c.neutronID("network", nw)
						if err != nil {
							return err
						}
						e["net-id"] = id
					}
					if pt := str(m, "port"); pt != "" {
						id, err := c.neutronID("port", pt)
						if err != nil {
							return err
						}
						e["port-id"] = id
					}
					setIf(e, m, "fixed_ip", "v4-fixed-ip")
					nics = append(nics, e)
				}
				inst["nics"] = nics
			}
			var out struct{ Instance map[string]any }
			if err := c.call("database", http.MethodPost, c.trovePath(""), nil, map[string]any{"instance": inst}, &out); err != nil {
				return err
			}
			r.PhysicalID = str(out.Instance, "id")
			return nil
		},
		ready: func(c *rctx, r *Resource) (bool, error) {
			i, err := c.get("database", c.trovePath(r.PhysicalID), "instance")
			if err != nil {
				return false, err
			}
			if i == nil {
				return false, inError("DELETED", "Unknown")
			}
			switch s := str(i, "status"); s {
			case "ACTIVE", "HEALTHY":
				return true, nil
			case "ERROR", "FAILED", "FAILED_TIMEOUT_GUESTAGENT":
				return false, inError(s, "Unknown")
			}
			return false, nil
		},
		update: func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			for _, k := range changed {
				switch k {
				case "flavor":
					fid, err := c.troveFlavor(str(p, "flavor"))
					if err != nil {
						return err
					}
					if err := c.call("database", http.MethodPost, c.trovePath(r.PhysicalID)+"/action", nil,
						map[string]any{"resize": map[string]any{"flavorRef": fid}}, nil); err != nil {
						return err
					}
				case "size":
					if err := c.call("database", http.MethodPost, c.trovePath(r.PhysicalID)+"/action", nil,
						map[string]any{"resize": map[string]any{"volume": map[string]any{"size": p["size"]}}}, nil); err != nil {
						return err
					}
				case "databases":
					for _, d := range list(p, "databases") {
						_ = c.call("database", http.MethodPost, c.trovePath(r.PhysicalID)+"/databases", nil,
							map[string]any{"databases": []any{d}}, nil)
					}
				case "users":
					for _, u := range troveUsers(list(p, "users")) {
						_ = c.call("database", http.MethodPost, c.trovePath(r.PhysicalID)+"/users", nil,
							map[string]any{"users": []any{u}}, nil)
					}
				}
			}
			return nil
		},
		del: func(c *rctx, r *Resource) error {
			return c.call("database", http.MethodDelete, c.trovePath(r.PhysicalID), nil, nil, nil)
		},
		gone: func(c *rctx, r *Resource) (bool, error) {
			i, err := c.get("database", c.trovePath(r.PhysicalID), "instance")
			return i == nil && err == nil, err
		},
		show: func(c *rctx, r *Resource) (map[string]any, error) {
			return c.get("database", c.trovePath(r.PhysicalID), "instance")
		},
		attr: func(c *rctx, r *Resource, name string) (any, error) {
			i, err := c.showOf(registry[r.Type], r)
			if err != nil || i == nil {
				return nil, err
			}
			switch name {
			case "hostname":
				if h, ok := i["hostname"]; ok {
					return h, nil
				}
				if ips := list(i, "ip"); len(ips) > 0 {
					return ips[0], nil
				}
				return nil, nil
			case "href":
				for _, l := range list(i, "links") {
					if str(obj(l), "rel") == "self" {
						return str(obj(l), "href"), nil
					}
				}
			}
			return nil, nil
		},
	})
}

// troveUsers turns the users' database names into Trove's objects.
func troveUsers(us []any) []any {
	var out []any
	for _, u := range us {
		m := obj(u)
		nu := map[string]any{"name": m["name"], "password": m["password"], "host": m["host"]}
		var dbs []any
		for _, d := range list(m, "databases") {
			dbs = append(dbs, map[string]any{"name": d})
		}
		nu["databases"] = dbs
		out = append(out, nu)
	}
	return out
}

func (c *rctx) troveFlavor(nameOrID string) (string, error) {
	l, err := c.listOf("database", "/v1.0/"+c.stack.ProjectID+"/flavors", nil, "flavors")
	if err != nil {
		return "", err
	}
	for _, f := range l {
		m := obj(f)
		if pyStr(m["id"]) == nameOrID || str(m, "str_id") == nameOrID || str(m, "name") == nameOrID {
			if s := str(m, "str_id"); s != "" {
				return s, nil
			}
			return pyStr(m["id"]), nil
		}
	}
	return "", &svcErr{status: 404, typ: "NotFound", msg: fmt.Sprintf("Unable to find flavor with name or id '%s'", nameOrID)}
}
