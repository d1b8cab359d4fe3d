package swift

import (
	"net/http"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func (s *Swift) serveAccount(w http.ResponseWriter, rq *request) error {
	r := rq.r
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if err := s.authorize(rq, ""); err != nil {
			return err
		}
		return s.listAccount(w, rq)
	case http.MethodPost:
		if err := s.authorize(rq, ""); err != nil {
			return err
		}
		return s.postAccount(w, rq)
	case http.MethodPut, http.MethodDelete:
		if err := s.authorize(rq, ""); err != nil {
			return err
		}
		if r.Method == http.MethodDelete && r.URL.RawQuery != "" {
			return fail(http.StatusBadRequest, "")
		}
		// allow_account_management is off, as on every keystone cloud.
		return allowOnly(accountMethods)
	case http.MethodOptions:
		w.Header().Set("Allow", accountMethods)
		empty(w, r, http.StatusOK)
		return nil
	}
	return allowOnly(accountMethods)
}

// accountHeaders are the account server's response headers.
func accountHeaders(h http.Header, a *Account, now time.Time, owner bool) {
	var containers, objects, bytes int64
	created, put := time.Time{}, time.Time{}
	if a != nil {
		created, put = a.Created, a.PutTime
		for _, c := range a.Containers {
			n, b := c.usage(now)
			containers++
			objects += n
			bytes += b
		}
		for k, v := range a.Meta {
			if !owner && strings.HasPrefix(k, "temp-url-key") {
				continue
			}
			h.Set("X-Account-Meta-"+k, v)
		}
	}
	h.Set("X-Account-Container-Count", itoa(containers))
	h.Set("X-Account-Object-Count", itoa(objects))
	h.Set("X-Account-Bytes-Used", itoa(bytes))
	h.Set("X-Timestamp", xTimestamp(created))
	h.Set("X-Put-Timestamp", xTimestamp(put))
	if containers > 0 {
		h.Set("X-Account-Storage-Policy-"+PolicyName+"-Container-Count", itoa(containers))
		h.Set("X-Account-Storage-Policy-"+PolicyName+"-Object-Count", itoa(objects))
		h.Set("X-Account-Storage-Policy-"+PolicyName+"-Bytes-Used", itoa(bytes))
	}
	if a != nil {
		h.Set("X-Account-Project-Domain-Id", "default")
	}
	h.Set("Accept-Ranges", "bytes")
}

func (s *Swift) listAccount(w http.ResponseWriter, rq *request) error {
	ctype, err := listingType(rq.r)
	if err != nil {
		return err
	}
	lp, err := parseListParams(rq.r, AccountListingLimit)
	if err != nil {
		return err
	}
	var entries []entry
	_ = s.state.View(func(st *state) error {
		a := st.Accounts[rq.account]
		accountHeaders(w.Header(), a, rq.now, rq.owner)
		if a == nil {
			return nil
		}
		if !a.PutTime.IsZero() {
			w.Header().Set("Last-Modified", lastModified(a.PutTime))
		}
		names := make([]string, 0, len(a.Containers))
		for n := range a.Containers {
			names = append(names, n)
		}
		entries = list(names, lp, func(n string) any {
			c := a.Containers[n]
			count, bytes := c.usage(rq.now)
			return core.Obj("name", c.Name, "count", count, "bytes", bytes, "last_modified", isoformat(c.PutTime))
		})
		return nil
	})
	if rq.r.Method == http.MethodHead {
		w.Header().Set("Content-Type", ctype+"; charset=utf-8")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	renderListing(w, rq.r, ctype, entries, "account", "container", rq.account, []string{"name", "count", "bytes", "last_modified"})
	return nil
}

func (s *Swift) postAccount(w http.ResponseWriter, rq *request) error {
	r := rq.r
	mc, err := parseMeta(r.Header, "account")
	if err != nil {
		return err
	}
	_, quotaSet := mc.set["quota-bytes"]
	if quotaSet || contains(mc.remove, "quota-bytes") {
		// account_quotas: only a reseller admin sets the quota.
		if !isReseller(rq) {
			return fail(http.StatusForbidden, "")
		}
		if v, ok := mc.set["quota-bytes"]; ok && !isDigits(v) {
			return fail(http.StatusBadRequest, "")
		}
	}
	if !rq.owner {
		for _, k := range []string{"temp-url-key", "temp-url-key-2"} {
			delete(mc.set, k)
		}
	}
	_ = s.state.Update(func(st *state) error {
		a := st.account(rq.account, rq.now)
		a.Meta = mc.apply(a.Meta)
		a.PutTime = rq.now
		return nil
	})
	empty(w, r, http.StatusNoContent)
	return nil
}

func isReseller(rq *request) bool {
	return rq.id != nil && hasRoleFold(rq.id, resellerAdminRole)
}

// account returns the account, creating it (account_autocreate).
func (st *state) account(name string, now time.Time) *Account {
	a := st.Accounts[name]
	if a == nil {
		a = &Account{Name: name, Created: now, PutTime: now, Containers: map[string]*Container{}}
		st.Accounts[name] = a
	}
	return a
}

// accountBytes is what the account quota counts.
func (a *Account) bytesUsed(now time.Time) int64 {
	var n int64
	for _, c := range a.Containers {
		_, b := c.usage(now)
		n += b
	}
	return n
}
