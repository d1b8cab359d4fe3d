package designate

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func rsNotFound() error {
	return core.NotFound("Could not find RecordSet").WithType("recordset_not_found")
}

func (d *Designate) rsBody(r *http.Request, rs *Recordset, z *Zone, now time.Time) map[string]any {
	records := append([]string{}, rs.Records...)
	return map[string]any{
		"id": rs.ID, "zone_id": rs.ZoneID, "project_id": rs.ProjectID, "name": rs.Name, "zone_name": z.Name,
		"type": rs.Type, "records": records, "description": rs.Description, "ttl": rs.TTL,
		"status": rs.Current(now), "action": rs.action(now), "version": rs.Version,
		"created_at": core.FormatTime(rs.Created, core.TimeMicro), "updated_at": formatTime(rs.Updated),
		"links": map[string]string{"self": core.ServiceURL(r) + "/v2/zones/" + rs.ZoneID + "/recordsets/" + rs.ID},
	}
}

// editManaged is the X-Designate-Edit-Managed-Records header or the
// edit_managed_records parameter (admins only, else policy's 403).
func editManaged(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("edit_managed_records")
	if v == "" {
		v = r.Header.Get("X-Designate-Edit-Managed-Records")
	}
	if !boolString(v) {
		return false, nil
	}
	if !core.IdentityOf(r).IsAdmin() {
		return false, core.Forbidden("")
	}
	return true, nil
}

// ------------------------------------------------------------------ list

var rsSortKeys = []string{"created_at", "id", "updated_at", "zone_id", "tenant_id", "name", "type", "ttl", "records"}
var rsFilters = []string{"name", "type", "ttl", "data", "status", "description"}

func (rs *Recordset) sortValue(key string) string {
	switch key {
	case "id":
		return rs.ID
	case "updated_at":
		if rs.Updated != nil {
			return rs.Updated.Format(time.RFC3339Nano)
		}
		return ""
	case "zone_id":
		return rs.ZoneID
	case "tenant_id":
		return rs.ProjectID
	case "name":
		return rs.Name
	case "type":
		return rs.Type
	case "ttl":
		return fmt.Sprintf("%020d", deref(rs.TTL))
	case "records":
		return strings.Join(rs.Records, " ")
	}
	return rs.Created.Format(time.RFC3339Nano)
}

func (d *Designate) listZoneRecordsets(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("zone_id")
	if err := validUUID("zone_id", id); err != nil {
		return err
	}
	return d.listRecordsets(w, r, id)
}

func (d *Designate) listAllRecordsets(w http.ResponseWriter, r *http.Request) error {
	return d.listRecordsets(w, r, "")
}

// listRecordsets is common.retrieve_matched_rrsets: one zone's
// recordsets (404 when the zone is not the caller's), or every zone's.
func (d *Designate) listRecordsets(w http.ResponseWriter, r *http.Request, zoneID string) error {
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	now := d.env.Now()
	if zoneID != "" {
		if err := d.state.View(func(s *state) error { _, err := s.zone(c, zoneID, now); return err }); err != nil {
			return err
		}
	}
	keys := rsSortKeys
	if zoneID == "" {
		keys = []string{"created_at", "updated_at", "zone_id", "tenant_id", "name", "type", "ttl"}
	}
	p, err := parseList(r, keys, rsFilters, c.all)
	if err != nil {
		return err
	}
	type pair struct {
		rs *Recordset
		z  *Zone
	}
	var found []pair
	_ = d.state.View(func(s *state) error {
		for _, rs := range s.Recordsets {
			if s.rsGone(rs, now) || (zoneID != "" && rs.ZoneID != zoneID) || !c.sees(rs.ProjectID) {
				continue
			}
			fields := map[string]string{"name": rs.Name, "type": rs.Type, "ttl": strconv.Itoa(deref(rs.TTL)),
				"status": rs.Current(now), "description": strOrEmpty(rs.Description)}
			ok := true
			for k, want := range p.filters {
				if k == "data" {
					match := false
					for _, rec := range rs.Records {
						match = match || likeMatch(want, rec)
					}
					ok = ok && match
					continue
				}
				ok = ok && likeMatch(want, fields[k])
			}
			if ok {
				cp, zc := *rs, *s.Zones[rs.ZoneID]
				found = append(found, pair{&cp, &zc})
			}
		}
		return nil
	})
	total := len(found)
	page, err := sortAndPage(found, p, func(x pair, k string) string { return x.rs.sortValue(k) }, func(x pair) string { return x.rs.ID })
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(page))
	for _, x := range page {
		out = append(out, d.rsBody(r, x.rs, x.z, now))
	}
	writeList(w, r, "recordsets", out, p.limit, total)
	return nil
}

// find returns a recordset of a zone the context sees: the zone's 404
// first, then the recordset's (Designate's get_recordset order).
func (s *state) recordset(c *dnsContext, zoneID, rsID string, now time.Time) (*Zone, *Recordset, error) {
	rs := s.Recordsets[rsID]
	if rs == nil || s.rsGone(rs, now) || !c.sees(rs.ProjectID) {
		return nil, nil, rsNotFound()
	}
	z, err := s.zone(c, zoneID, now)
	if err != nil {
		return nil, nil, err
	}
	if rs.ZoneID != z.ID {
		return nil, nil, core.NotFound("").WithType("recordset_not_found")
	}
	return z, rs, nil
}

func (d *Designate) showRecordset(w http.ResponseWriter, r *http.Request) error {
	zoneID, rsID := r.PathValue("zone_id"), r.PathValue("rs_id")
	if err := validUUID("zone_id", zoneID); err != nil {
		return err
	}
	if err := validUUID("recordset_id", rsID); err != nil {
		return err
	}
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	now := d.env.Now()
	return d.state.View(func(s *state) error {
		z, rs, err := s.recordset(c, zoneID, rsID, now)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, d.rsBody(r, rs, z, now))
		return nil
	})
}

// redirectRecordset is GET /v2/recordsets/{id}: 301 to the recordset
// under its zone.
func (d *Designate) redirectRecordset(w http.ResponseWriter, r *http.Request) error {
	rsID := r.PathValue("rs_id")
	if err := validUUID("recordset_id", rsID); err != nil {
		return err
	}
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	now := d.env.Now()
	var loc string
	err = d.state.View(func(s *state) error {
		rs := s.Recordsets[rsID]
		if rs == nil || s.rsGone(rs, now) || !c.sees(rs.ProjectID) {
			return rsNotFound()
		}
		loc = core.ServiceURL(r) + "/v2/zones/" + rs.ZoneID + "/recordsets/" + rs.ID
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusMovedPermanently)
	return nil
}

// ------------------------------------------------------------------ parse and validate

var (
	rsWritable  = []string{"records", "description", "ttl"}
	rsImmutable = []string{"name", "type"}
	rsReadOnly  = []string{"id", "zone_id", "project_id", "zone_name", "status", "action", "version", "created_at", "updated_at"}
)

type rsInput struct {
	name, typ                    string
	records                      []string
	ttl                          *int
	description                  *string
	hasRecords, hasTTL, hasDescr bool
	hasName, hasType             bool
}

// parseRecordset is RecordSetAPIv2Adapter.parse (current is the shown
// recordset on update).
func parseRecordset(v any, current map[string]any) (*rsInput, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, notValid("Provided object is not valid. Got an AttributeError with message '%s' object has no attribute 'items'", pyType(v))
	}
	in := &rsInput{}
	if recs, ok := m["records"]; ok {
		list, isList := recs.([]any)
		if !isList {
			return nil, invalid(fieldError([]any{"records"}, "type", []string{"list"}, fmt.Sprintf("'%v' is not a valid list of records", recs)))
		}
		in.hasRecords = true
		in.records = []string{}
		for _, e := range list {
			s, err := stringField("data", e, 0)
			if err != nil {
				return nil, err
			}
			if !contains(in.records, s) {
				in.records = append(in.records, s)
			}
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var bad []string
keys:
	for _, k := range keys {
		val := m[k]
		switch {
		case k == "records":
		case contains(rsImmutable, k):
			if current != nil {
				if !sameValue(current[k], val) {
					bad = append(bad, k)
					break keys
				}
				continue
			}
			s, err := stringField(k, val, maxNameLen)
			if err != nil {
				return nil, err
			}
			if k == "name" {
				if err := hostField(s); err != nil {
					return nil, err
				}
				in.name, in.hasName = s, true
			} else {
				in.typ, in.hasType = s, true
			}
		case k == "ttl":
			in.hasTTL = true
			if val != nil {
				n, err := intField("ttl", val, 0, 2147483647)
				if err != nil {
					return nil, err
				}
				t := int(n)
				in.ttl = &t
			}
		case k == "description":
			in.hasDescr = true
			if val != nil {
				s, err := stringField("description", val, 160)
				if err != nil {
					return nil, err
				}
				in.description = &s
			}
		case contains(rsReadOnly, k):
			if current == nil || !sameValue(current[k], val) {
				bad = append(bad, k)
				break keys
			}
		default:
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		return nil, notValid("Provided object does not match schema. Keys %s are not valid for recordset", pyList(bad))
	}
	return in, nil
}

// validateRecords is RecordSet.validate: the type, the name for SRV and
// NS, each record's data.
func validateRecords(name, typ string, records []string) error {
	if !contains(recordTypes, typ) {
		return invalid(fieldError([]any{"recordset", "type"}, "value", []string{typ}, fmt.Sprintf("'%s' is not a valid record type", typ)))
	}
	var errs []map[string]any
	switch typ {
	case "SRV":
		if !srvName(name) {
			errs = append(errs, fieldError([]any{"name"}, "format", "srvname", fmt.Sprintf("%s is not a 'srvname'", pyStr(name))))
		}
	case "NS":
		if domainField(name) != nil {
			errs = append(errs, fieldError([]any{"name"}, "format", "domainname", fmt.Sprintf("%s is not a 'domainname'", pyStr(name))))
		}
	}
	for i, rec := range records {
		if !checkRecord(typ, rec) {
			errs = append(errs, fieldError([]any{"records", i}, "format", []string{typ}, fmt.Sprintf("'%s' is not a '%s' Record", rec, typ)))
		}
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}

func pyStr(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// placement is central's _validate_recordset after the TTL: the name in
// the zone, CNAME rules, not inside a subzone, one CNAME record.
func (s *state) placement(z *Zone, name, typ, selfID string, records []string, now time.Time) error {
	if name != z.Name && !strings.HasSuffix(name, "."+z.Name) {
		return core.BadRequest("RecordSet is not contained within it's parent zone").WithType("invalid_recordset_location")
	}
	if typ == "CNAME" && name == z.Name {
		return core.BadRequest("CNAME recordsets may not be created at the zone apex").WithType("invalid_recordset_location")
	}
	n := 0
	conflict := false
	for _, o := range s.Recordsets {
		if o.ZoneID != z.ID || o.Name != name || s.rsGone(o, now) || o.Current(now) == "DELETED" {
			continue
		}
		if typ != "CNAME" && o.Type != "CNAME" {
			continue
		}
		n++
		if o.ID != selfID {
			conflict = true
		}
	}
	if (n == 1 && conflict) || n > 1 {
		return core.BadRequest("CNAME recordsets may not share a name with any other records").WithType("invalid_recordset_location")
	}
	if name != z.Name {
		for _, child := range s.Zones {
			if child.ParentZoneID == z.ID && !child.gone(now) && (name == child.Name || strings.HasSuffix(name, "."+child.Name)) {
				return core.BadRequest("RecordSet belongs in a child zone: %s", child.Name).WithType("invalid_recordset_location")
			}
		}
	}
	if typ == "CNAME" && len(records) > 1 {
		return core.BadRequest("CNAME recordsets may not have more than 1 record")
	}
	return nil
}

// recordQuota is _enforce_record_quota: records of the zone that are
// not the service's, and records of the recordset.
func (s *state) recordQuota(z *Zone, selfID string, records []string, now time.Time) error {
	used := 0
	for _, o := range s.Recordsets {
		if o.ZoneID == z.ID && !o.Managed && o.ID != selfID && !s.rsGone(o, now) {
			used += len(o.Records)
		}
	}
	var over []string
	if !s.Quotas.Allows(z.ProjectID, "zone_records", used, len(records)) {
		over = append(over, "zone_records")
	}
	if !s.Quotas.Allows(z.ProjectID, "recordset_records", 0, len(records)) {
		over = append(over, "recordset_records")
	}
	if len(over) > 0 {
		return core.Errorf(http.StatusRequestEntityTooLarge, "Quota exceeded for %s.", strings.Join(over, ", ")).WithType("over_quota")
	}
	return nil
}

// ------------------------------------------------------------------ create, update, delete

func (d *Designate) createRecordset(w http.ResponseWriter, r *http.Request) error {
	zoneID := r.PathValue("zone_id")
	if err := validUUID("zone_id", zoneID); err != nil {
		return err
	}
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	raw, err := bodyDict(r)
	if err != nil {
		return err
	}
	in, err := parseRecordset(raw, nil)
	if err != nil {
		return err
	}
	if !in.hasType {
		return invalid(fieldError([]any{"type"}, "required", "type", "'type' is a required property"))
	}
	if err := validateRecords(in.name, in.typ, in.records); err != nil {
		return err
	}
	if !in.hasName {
		return invalid(fieldError([]any{"name"}, "required", "name", "'name' is a required property"))
	}
	if in.typ == "SOA" {
		return core.BadRequest("Creating a SOA recordset is not allowed")
	}
	now := d.env.Now()
	var body map[string]any
	err = d.state.Update(func(s *state) error {
		s.purge(now)
		z, err := s.zone(c, zoneID, now)
		if err != nil {
			return err
		}
		if z.action(now) == "DELETE" {
			return core.BadRequest("Can not update a deleting zone")
		}
		count := 0
		for _, o := range s.Recordsets {
			if o.ZoneID == z.ID {
				count++
			}
		}
		if !s.Quotas.Allows(z.ProjectID, "zone_recordsets", count, 1) {
			return core.Errorf(http.StatusRequestEntityTooLarge, "Quota exceeded for zone_recordsets.").WithType("over_quota")
		}
		if err := s.placement(z, in.name, in.typ, "", in.records, now); err != nil {
			return err
		}
		if len(in.records) > 0 {
			if err := s.recordQuota(z, "", in.records, now); err != nil {
				return err
			}
		}
		for _, o := range s.Recordsets {
			if o.ZoneID == z.ID && o.Name == in.name && o.Type == in.typ {
				return core.Conflict("Duplicate RecordSet").WithType("duplicate_recordset")
			}
		}
		rs := &Recordset{ID: core.NewUUID(), ZoneID: z.ID, ProjectID: z.ProjectID, Name: in.name, Type: in.typ,
			Records: in.records, TTL: in.ttl, Description: in.description, Version: 1, Action: "CREATE", Created: now}
		if rs.Records == nil {
			rs.Records = []string{}
		}
		if len(rs.Records) > 0 {
			rs.Lifecycle = core.Begin(d.env, "PENDING", "ACTIVE")
			s.touch(z, now, d.env, true)
		} else {
			rs.Lifecycle = core.Lifecycle{Status: "ACTIVE"}
		}
		s.Recordsets[rs.ID] = rs
		body = d.rsBody(r, rs, z, now)
		if len(rs.Records) > 0 {
			body["status"], body["action"] = "PENDING", "CREATE"
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", body["links"].(map[string]string)["self"])
	status := http.StatusCreated
	if body["status"] == "PENDING" {
		status = http.StatusAccepted
	}
	core.WriteJSON(w, status, body)
	return nil
}

func (d *Designate) updateRecordset(w http.ResponseWriter, r *http.Request) error {
	zoneID, rsID := r.PathValue("zone_id"), r.PathValue("rs_id")
	if err := validUUID("zone_id", zoneID); err != nil {
		return err
	}
	if err := validUUID("recordset_id", rsID); err != nil {
		return err
	}
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	managed, err := editManaged(r)
	if err != nil {
		return err
	}
	now := d.env.Now()
	var current map[string]any
	var typ, name string
	err = d.state.View(func(s *state) error {
		z, rs, err := s.recordset(c, zoneID, rsID, now)
		if err != nil {
			return err
		}
		if rs.Managed && !managed {
			return core.BadRequest("Managed records may not be updated")
		}
		if rs.Type == "SOA" {
			return core.BadRequest("Updating SOA recordsets is not allowed")
		}
		if rs.Type == "NS" && rs.Name == z.Name {
			return core.BadRequest("Updating a root zone NS record is not allowed")
		}
		current, typ, name = d.rsBody(r, rs, z, now), rs.Type, rs.Name
		return nil
	})
	if err != nil {
		return err
	}
	raw, err := bodyDict(r)
	if err != nil {
		return err
	}
	in, err := parseRecordset(raw, current)
	if err != nil {
		return err
	}
	if in.hasRecords {
		if err := validateRecords(name, typ, in.records); err != nil {
			return err
		}
	}
	var body map[string]any
	err = d.state.Update(func(s *state) error {
		z, rs, err := s.recordset(c, zoneID, rsID, now)
		if err != nil {
			return err
		}
		if z.action(now) == "DELETE" {
			return core.BadRequest("Can not update a deleting zone")
		}
		records := rs.Records
		if in.hasRecords {
			records = in.records
		}
		if err := s.placement(z, rs.Name, rs.Type, rs.ID, records, now); err != nil {
			return err
		}
		if len(records) > 0 {
			if err := s.recordQuota(z, rs.ID, records, now); err != nil {
				return err
			}
		}
		s.touch(z, now, d.env, true)
		rs.Records = records
		if in.hasTTL {
			rs.TTL = in.ttl
		}
		if in.hasDescr {
			rs.Description = in.description
		}
		rs.Version++
		rs.Updated = timePtr(now)
		rs.Action = "UPDATE"
		rs.Lifecycle = core.Begin(d.env, "PENDING", "ACTIVE")
		body = d.rsBody(r, rs, z, now)
		body["status"], body["action"] = "PENDING", "UPDATE"
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, body)
	return nil
}

func (d *Designate) deleteRecordset(w http.ResponseWriter, r *http.Request) error {
	zoneID, rsID := r.PathValue("zone_id"), r.PathValue("rs_id")
	if err := validUUID("zone_id", zoneID); err != nil {
		return err
	}
	if err := validUUID("recordset_id", rsID); err != nil {
		return err
	}
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	managed, err := editManaged(r)
	if err != nil {
		return err
	}
	now := d.env.Now()
	var body map[string]any
	err = d.state.Update(func(s *state) error {
		s.purge(now)
		z, rs, err := s.recordset(c, zoneID, rsID, now)
		if err != nil {
			return err
		}
		if rs.Type == "SOA" {
			return core.BadRequest("Deleting a SOA recordset is not allowed")
		}
		if z.action(now) == "DELETE" {
			return core.BadRequest("Can not update a deleting zone")
		}
		if rs.Managed && !managed {
			return core.BadRequest("Managed records may not be deleted")
		}
		s.touch(z, now, d.env, true)
		rs.Action = "DELETE"
		rs.Version++
		rs.Updated = timePtr(now)
		rs.Lifecycle = core.Begin(d.env, "PENDING", "DELETED")
		body = d.rsBody(r, rs, z, now)
		body["status"], body["action"] = "PENDING", "DELETE"
		s.purge(now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, body)
	return nil
}
