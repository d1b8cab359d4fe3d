package magnum

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// status is the cluster's status now ("deleted" once a deletion finished).
func (c *Cluster) status(now time.Time) string { return c.Current(now) }

// addresses are the cluster's nodes' addresses once built: floating IPs
// from devstack's public range when the template gives floating IPs,
// else addresses of the cluster's private network; stable per cluster.
func (c *Cluster) addresses(kind string, n int) []any {
	out := []any{}
	sum := sha256.Sum256([]byte(c.UUID + kind))
	for i := 0; i < n; i++ {
		host := 10 + int(sum[i%len(sum)])%200
		if c.FloatingIPEnabled {
			out = append(out, fmt.Sprintf("172.24.4.%d", host+i%40))
		} else {
			out = append(out, fmt.Sprintf("10.0.0.%d", host+i%40))
		}
	}
	return out
}

// body is the cluster as GET /v1/clusters/{id} answers (expand) or as a
// list item (the summary fields only).
func (c *Cluster) body(r *http.Request, now time.Time, expand bool) map[string]any {
	st := c.status(now)
	built := !strings.HasSuffix(st, "_IN_PROGRESS")
	out := map[string]any{
		"uuid": c.UUID, "name": c.Name, "cluster_template_id": c.TemplateID, "keypair": c.Keypair,
		"docker_volume_size": c.DockerVolumeSize, "labels": orEmpty(c.Labels), "node_count": c.NodeCount,
		"status": st, "master_flavor_id": c.MasterFlavorID, "flavor_id": c.FlavorID,
		"create_timeout": c.CreateTimeout, "master_count": c.MasterCount, "stack_id": c.StackID,
		"health_status": nil, "links": links(r, "clusters", c.UUID),
	}
	if built {
		out["health_status"] = "HEALTHY"
	}
	if !expand {
		return out
	}
	var reason, api, coeVersion, containerVersion any
	var healthReason any = map[string]any{}
	nodes, masters := []any{}, []any{}
	if built {
		reason = fmt.Sprintf("Stack %s completed successfully", c.Operation)
		masters, nodes = c.addresses("master", c.MasterCount), c.addresses("node", c.NodeCount)
		switch c.COE {
		case "kubernetes":
			api = fmt.Sprintf("https://%s:6443", masters[0])
			coeVersion, containerVersion = "v1.18.16", "1.12.6"
		default:
			api = fmt.Sprintf("tcp://%s:2376", masters[0])
			coeVersion, containerVersion = "1.2.5", "1.12.6"
		}
		healthReason = map[string]any{"api": "ok"}
		for i := range c.NodeCount {
			healthReason.(map[string]any)[fmt.Sprintf("%s-node-%d.Ready", c.Name, i)] = "True"
		}
	}
	overridden, added, skipped := labelsDiff(c.TemplateLabels, c.Labels)
	maps.Copy(out, map[string]any{
		"status_reason": reason, "health_status_reason": healthReason, "discovery_url": c.DiscoveryURL,
		"api_address": api, "coe_version": coeVersion, "container_version": containerVersion,
		"project_id": c.ProjectID, "user_id": c.UserID, "node_addresses": nodes, "master_addresses": masters,
		"fixed_network": c.FixedNetwork, "fixed_subnet": c.FixedSubnet,
		"floating_ip_enabled": c.FloatingIPEnabled, "master_lb_enabled": c.MasterLBEnabled,
		"labels_overridden": overridden, "labels_added": added, "labels_skipped": skipped,
		"created_at": fmtTime(&c.Created), "updated_at": fmtTime(c.Updated),
	})
	return out
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// labelsDiff is api_utils.get_labels_diff: the cluster's labels against
// its template's.
func labelsDiff(parent, labels map[string]any) (overridden, added, skipped map[string]any) {
	overridden, added, skipped = map[string]any{}, map[string]any{}, map[string]any{}
	for k, v := range labels {
		pv, ok := parent[k]
		switch {
		case !ok:
			added[k] = v
		case fmt.Sprint(pv) != fmt.Sprint(v):
			overridden[k] = pv
		}
	}
	for k, v := range parent {
		if _, ok := labels[k]; !ok {
			skipped[k] = v
		}
	}
	return
}

// purge drops clusters whose deletion finished.
func (s *state) purge(now time.Time) {
	for id, c := range s.Clusters {
		if c.status(now) == deleted {
			delete(s.Clusters, id)
		}
	}
}

// findCluster is get_resource('Cluster', ident) in the caller's project
// (an admin's: all).
func (s *state) findCluster(caller *core.Identity, ident string, now time.Time) (*Cluster, error) {
	visible := func(c *Cluster) bool { return caller.CanSee(c.ProjectID) && c.status(now) != deleted }
	if isUUID(ident) {
		for _, c := range s.Clusters {
			if strings.EqualFold(strings.ReplaceAll(c.UUID, "-", ""), strings.ReplaceAll(ident, "-", "")) && visible(c) {
				return c, nil
			}
		}
		return nil, clientError(http.StatusNotFound, "Cluster %s could not be found.", ident)
	}
	var found []*Cluster
	for _, c := range s.Clusters {
		if c.Name == ident && visible(c) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return nil, clientError(http.StatusNotFound, "Cluster %s could not be found.", ident)
	case 1:
		return found[0], nil
	}
	return nil, clientError(http.StatusConflict, "Multiple clusters exist with same name. Please use the cluster uuid instead.")
}

func (m *Magnum) listClusters(w http.ResponseWriter, r *http.Request) error {
	p, err := readListParams(r)
	if err != nil {
		return err
	}
	caller := core.IdentityOf(r)
	now := m.env.Now()
	expand := strings.HasSuffix(r.URL.Path, "/detail")
	var out []any
	var more bool
	var last string
	err = m.state.View(func(s *state) error {
		var items []*Cluster
		for _, c := range s.Clusters {
			if caller.CanSee(c.ProjectID) && c.status(now) != deleted {
				items = append(items, c)
			}
		}
		notFound := clientError(http.StatusNotFound, "Cluster %s could not be found.", p.marker)
		got, full, err := page(items, p, &Cluster{}, func(c *Cluster) time.Time { return c.Created },
			func(c *Cluster, k string) (string, bool) {
				if k == "status" {
					return c.status(now), true
				}
				return jsonField(c, k)
			},
			func(c *Cluster) string { return c.UUID }, notFound)
		if err != nil {
			return err
		}
		for _, c := range got {
			out = append(out, c.body(r, now, expand))
			last = c.UUID
		}
		more = full
		return nil
	})
	if err != nil {
		return err
	}
	body := map[string]any{"clusters": append([]any{}, out...)}
	if more {
		res := "clusters"
		if expand {
			res = "clusters/detail"
		}
		body["next"] = nextURL(r, res, p, last)
	}
	core.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (m *Magnum) showCluster(w http.ResponseWriter, r *http.Request) error {
	now := m.env.Now()
	return m.state.View(func(s *state) error {
		c, err := s.findCluster(core.IdentityOf(r), r.PathValue("ident"), now)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, c.body(r, now, true))
		return nil
	})
}

func strPtr(vals map[string]any, k string) *string {
	if s, ok := vals[k].(string); ok {
		return &s
	}
	return nil
}

func intOr(vals map[string]any, k string, d int) int {
	if n, ok := vals[k].(int); ok {
		return n
	}
	return d
}

func (m *Magnum) createCluster(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	v := core.MicroversionOf(r)
	vals, err := parseBody(r, "cluster", clusterAttrs)
	if err != nil {
		return err
	}
	now := m.env.Now()
	var t Template
	err = m.state.View(func(s *state) error {
		found, err := s.findTemplate(caller, vals["cluster_template_id"].(string))
		if err != nil {
			if e, ok := core.AsAPIError(err); ok && e.Status == http.StatusNotFound && !v.AtLeast("1.10") {
				e.Status = http.StatusBadRequest // validation.ct_not_found_to_bad_request before 1.10
			}
			return err
		}
		t = *found
		return nil
	})
	if err != nil {
		return err
	}
	if !driverSupported(t.ServerType, derefOr(t.ClusterDistro, ""), t.COE) {
		return notSupported(t.ServerType, t.ClusterDistro, t.COE)
	}
	c := &Cluster{
		UUID: core.NewUUID(), Name: derefOr(strPtr(vals, "name"), ""), ProjectID: caller.ProjectID, UserID: caller.UserID,
		TemplateID: t.UUID, Keypair: strPtr(vals, "keypair"), DiscoveryURL: strPtr(vals, "discovery_url"),
		NodeCount: intOr(vals, "node_count", 1), MasterCount: intOr(vals, "master_count", 1),
		CreateTimeout: intOr(vals, "create_timeout", 60), COE: t.COE, StackID: core.NewUUID(), Created: now,
		FlavorID: strPtr(vals, "flavor_id"), MasterFlavorID: strPtr(vals, "master_flavor_id"),
		FixedNetwork: strPtr(vals, "fixed_network"), FixedSubnet: strPtr(vals, "fixed_subnet"),
		TemplateLabels: maps.Clone(t.Labels),
	}
	if n, ok := vals["docker_volume_size"].(int); ok {
		c.DockerVolumeSize = &n
	}
	if t.DockerStorageDriver != nil && *t.DockerStorageDriver == "devicemapper" {
		size := c.DockerVolumeSize
		if size == nil {
			size = t.DockerVolumeSize
		}
		if size == nil || *size < 3 {
			s := "None"
			if size != nil {
				s = fmt.Sprint(*size)
			}
			return clientError(http.StatusBadRequest, "docker volume size %s GB is not valid, expecting minimum value 3GB for devicemapper storage driver.", s)
		}
	}
	if c.NodeCount == 0 && !v.AtLeast("1.10") {
		return clientError(http.StatusBadRequest, "Resizing a nodegroup to zero is not supported in the provided microversion.")
	}
	// _post: the quota, then what the template gives.
	var used, limit int
	_ = m.state.View(func(s *state) error {
		for _, o := range s.Clusters {
			if o.ProjectID == caller.ProjectID && o.status(now) != deleted {
				used++
			}
		}
		limit = s.clusterLimit(caller.ProjectID)
		return nil
	})
	if used >= limit {
		return clientError(http.StatusForbidden, "Resource limit exceeded: You have reached the maximum clusters per project, %d. You may delete a cluster to make room for a new one.", limit)
	}
	if c.Keypair == nil {
		c.Keypair = t.KeypairID
	}
	labels, _ := vals["labels"].(map[string]any)
	switch {
	case len(labels) == 0:
		c.Labels = maps.Clone(t.Labels)
	case vals["merge_labels"] == true:
		c.Labels = maps.Clone(t.Labels)
		if c.Labels == nil {
			c.Labels = map[string]any{}
		}
		maps.Copy(c.Labels, labels)
	default:
		c.Labels = labels
	}
	if f, ok := vals["floating_ip_enabled"].(bool); ok {
		c.FloatingIPEnabled = f
	} else {
		c.FloatingIPEnabled = t.FloatingIPEnabled
	}
	if f, ok := vals["master_lb_enabled"].(bool); ok {
		c.MasterLBEnabled = f
	} else {
		c.MasterLBEnabled = t.MasterLBEnabled
	}
	if c.DockerVolumeSize == nil {
		c.DockerVolumeSize = t.DockerVolumeSize
	}
	for _, p := range []struct {
		c **string
		t *string
	}{{&c.FlavorID, t.FlavorID}, {&c.MasterFlavorID, t.MasterFlavorID},
		{&c.FixedNetwork, t.FixedNetwork}, {&c.FixedSubnet, t.FixedSubnet}} {
		if *p.c == nil || **p.c == "" {
			*p.c = p.t
		}
	}
	if err := m.validateOSResources(r, &t, c); err != nil {
		return err
	}
	if c.MasterCount > 1 && !c.MasterLBEnabled {
		return clientError(http.StatusBadRequest, "master_count must be 1 when master_lb_enabled is False")
	}
	if c.Name == "" {
		c.Name = generatedName() + "-cluster"
	}
	c.Operation = "CREATE"
	c.Lifecycle = core.Begin(m.env, "CREATE_IN_PROGRESS", "CREATE_COMPLETE")
	err = m.state.Update(func(s *state) error {
		if s.Templates[t.UUID] == nil {
			return clientError(http.StatusNotFound, "ClusterTemplate %s could not be found.", t.UUID)
		}
		s.purge(now)
		s.Clusters[c.UUID] = c
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, map[string]any{"uuid": c.UUID})
	return nil
}

var clusterInternal = []string{"/created_at", "/id", "/links", "/updated_at", "/uuid", "/project_id", "/user_id",
	"/api_address", "/node_addresses", "/master_addresses", "/stack_id", "/ca_cert_ref", "/magnum_cert_ref",
	"/trust_id", "/trustee_user_name", "/trustee_password", "/trustee_user_id", "/etcd_ca_cert_ref", "/front_proxy_ca_cert_ref"}

// updateCluster applies a JSON patch of node_count (or health_status):
// any other property is refused, as Magnum does. A resize of a cluster
// that is not in a complete state is accepted and dropped (Magnum's
// conductor refuses it after the API answered 202).
func (m *Magnum) updateCluster(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	v := core.MicroversionOf(r)
	now := m.env.Now()
	var cur *Cluster
	var doc map[string]any
	err := m.state.View(func(s *state) error {
		c, err := s.findCluster(caller, r.PathValue("ident"), now)
		if err != nil {
			return err
		}
		cur = c
		b, _ := json.Marshal(c.body(r, now, true))
		return json.Unmarshal(b, &doc)
	})
	if err != nil {
		return err
	}
	ops, err := parsePatch(r, clusterInternal, []string{"/cluster_template_id"})
	if err != nil {
		return err
	}
	if err := applyPatch(doc, ops); err != nil {
		return err
	}
	orig := map[string]any{}
	b, _ := json.Marshal(cur.body(r, now, true))
	_ = json.Unmarshal(b, &orig)
	var delta []string
	for _, a := range clusterAttrs {
		if a.readonly || a.name == "links" {
			continue
		}
		x, _ := json.Marshal(doc[a.name])
		y, _ := json.Marshal(orig[a.name])
		if string(x) != string(y) {
			delta = append(delta, a.name)
		}
	}
	vals, err := checkAttrs(stripReadonly(doc), "cluster", clusterAttrs)
	if err != nil {
		return err
	}
	var bad []string
	for _, d := range delta {
		if d != "node_count" && d != "health_status" && d != "health_status_reason" {
			bad = append(bad, d)
		}
	}
	if len(bad) > 0 {
		return clientError(http.StatusBadRequest, "cannot change cluster property(ies) %s.", strings.Join(bad, ", "))
	}
	nodes := cur.NodeCount
	for _, p := range ops {
		if p.Path == "/node_count" {
			nodes = intOr(vals, "node_count", cur.NodeCount)
		}
	}
	if nodes == 0 && !v.AtLeast("1.10") {
		return clientError(http.StatusBadRequest, "Resizing a nodegroup to zero is not supported in the provided microversion.")
	}
	return m.resize(w, cur.UUID, nodes)
}

// resize starts UPDATE_IN_PROGRESS -> UPDATE_COMPLETE with the new node
// count and answers 202 with the cluster's uuid.
func (m *Magnum) resize(w http.ResponseWriter, uuid string, nodes int) error {
	now := m.env.Now()
	err := m.state.Update(func(s *state) error {
		c := s.Clusters[uuid]
		if c == nil || c.status(now) == deleted {
			return clientError(http.StatusNotFound, "Cluster %s could not be found.", uuid)
		}
		st := c.status(now)
		if strings.HasSuffix(st, "_IN_PROGRESS") || strings.HasSuffix(st, "_FAILED") {
			return nil
		}
		c.NodeCount = nodes
		c.Updated = &now
		c.Operation = "UPDATE"
		c.Lifecycle = core.Begin(m.env, "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE")
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, map[string]any{"uuid": uuid})
	return nil
}

var resizeAttrs = []attr{
	{name: "node_count", kind: "int", min: 0, max: math.MaxInt32, mandatory: true},
	{name: "nodes_to_remove", kind: "list"},
	{name: "nodegroup", kind: "str", min: 1, max: 255},
}

// resizeCluster is POST /v1/clusters/{id}/actions/resize (1.7): the
// default worker nodegroup's node count.
func (m *Magnum) resizeCluster(w http.ResponseWriter, r *http.Request) error {
	v := core.MicroversionOf(r)
	if !v.AtLeast("1.7") {
		return core.NotFound("The resource could not be found.")
	}
	now := m.env.Now()
	var uuid string
	err := m.state.View(func(s *state) error {
		c, err := s.findCluster(core.IdentityOf(r), r.PathValue("ident"), now)
		if err != nil {
			return err
		}
		uuid = c.UUID
		return nil
	})
	if err != nil {
		return err
	}
	vals, err := parseBody(r, "cluster_resize_req", resizeAttrs)
	if err != nil {
		return err
	}
	switch ng, _ := vals["nodegroup"].(string); ng {
	case "", "default-worker":
	case "default-master":
		return clientError(http.StatusBadRequest, "Resizing a master nodegroup is not supported.")
	default:
		return clientError(http.StatusNotFound, "Nodegroup %s could not be found.", ng)
	}
	nodes := vals["node_count"].(int)
	if nodes == 0 && !v.AtLeast("1.10") {
		return clientError(http.StatusBadRequest, "Resizing a nodegroup to zero is not supported in the provided microversion.")
	}
	return m.resize(w, uuid, nodes)
}

// stripReadonly drops the answer-only fields before the patched document
// is read back as a cluster.
func stripReadonly(doc map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range doc {
		out[k] = v
	}
	for _, k := range []string{"links", "labels_overridden", "labels_added", "labels_skipped"} {
		delete(out, k)
	}
	return out
}

func (m *Magnum) deleteCluster(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	now := m.env.Now()
	err := m.state.Update(func(s *state) error {
		c, err := s.findCluster(caller, r.PathValue("ident"), now)
		if err != nil {
			return err
		}
		if c.status(now) != "DELETE_IN_PROGRESS" {
			c.Operation = "DELETE"
			c.Lifecycle = core.Begin(m.env, "DELETE_IN_PROGRESS", deleted)
		}
		s.purge(now)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
