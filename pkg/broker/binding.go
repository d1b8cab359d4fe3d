package broker

import (
	"context"
	"errors"
	"maps"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

func appGUID(req *osbapi.BindRequest) string {
	if req.BindResource != nil && req.BindResource.AppGUID != "" {
		return req.BindResource.AppGUID
	}
	return req.AppGUID
}

// Bind implements osbapi.Broker.
func (b *Broker) Bind(ctx context.Context, ri osbapi.RequestInfo, iid, bid string, req *osbapi.BindRequest) (*osbapi.BindResponse, error) {
	if err := checkIDs(iid, bid); err != nil {
		return nil, err
	}
	ref, err := b.cat().lookupPlan(req.ServiceID, req.PlanID)
	if err != nil {
		return nil, err
	}
	bindable := ref.offering.service.Bindable
	if ref.plan.Bindable != nil {
		bindable = *ref.plan.Bindable
	}
	if !bindable {
		return nil, osbapi.BadRequest("plan_id %q: service %q is not bindable", req.PlanID, ref.offering.service.Name)
	}
	if b.o.LaunchAPBOnBind && !ri.AcceptsIncomplete {
		return nil, osbapi.AsyncRequired()
	}
	if err := validateParams(ref.schemas.bind, req.Parameters); err != nil {
		return nil, err
	}
	for range maxRaces {
		in, err := b.st.GetInstance(ctx, iid)
		if errors.Is(err, store.ErrNotFound) {
			return nil, osbapi.NotFound("instance %q does not exist", iid)
		}
		if err != nil {
			return nil, storeErr(err, "reading instance")
		}
		if in.ServiceID != req.ServiceID {
			return nil, osbapi.BadRequest("service_id %q does not match the instance's %q", req.ServiceID, in.ServiceID)
		}
		if err := b.authorizeUser(ctx, ri, namespaceOf(in.Context), false); err != nil {
			return nil, err
		}
		cur, err := b.st.GetBinding(ctx, bid)
		switch {
		case err == nil:
			return b.bindExisting(ctx, iid, cur, req)
		case !errors.Is(err, store.ErrNotFound):
			return nil, storeErr(err, "reading binding")
		}
		switch {
		case in.Operation != "", in.Status == store.StatusProvisioning, in.Status == store.StatusDeprovisioning:
			return nil, osbapi.ConcurrencyError("instance %q has an operation in progress", iid)
		case in.Status == store.StatusFailed:
			return nil, osbapi.Unprocessable("instance %q is in a failed state", iid)
		}
		bi := &store.BindInstance{
			ID: bid, InstanceID: iid, Parameters: req.Parameters, ServiceID: req.ServiceID,
			PlanID: req.PlanID, UserParameters: req.Parameters, AppGUID: appGUID(req),
		}
		nextIn := *in
		nextIn.BindingIDs = maps.Clone(in.BindingIDs)
		if nextIn.BindingIDs == nil {
			nextIn.BindingIDs = map[string]bool{}
		}
		nextIn.BindingIDs[bid] = true

		if !b.o.LaunchAPBOnBind {
			// Automation Broker's default: a binding hands out the
			// credentials the provision stored, without running anything.
			creds, err := b.st.GetCredentials(ctx, iid)
			if errors.Is(err, store.ErrNotFound) {
				return nil, osbapi.BadRequest("no credentials available: the bundle's provision stored none (set broker.launch_apb_on_bind to run its bind playbook)")
			}
			if err != nil {
				return nil, storeErr(err, "reading credentials")
			}
			bi.Status = store.StatusReady
			_, err = b.st.Commit(ctx, store.PutBinding(bi), store.PutInstance(&nextIn), store.PutCredentials(bid, creds.Credentials))
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return nil, storeErr(err, "storing binding")
			}
			return &osbapi.BindResponse{Credentials: creds.Credentials}, nil
		}

		j := newJob(runtime.ActionBind, iid, bid, req.PlanID, req.Parameters, ri)
		bi.Status, bi.Operation = store.StatusBinding, j.Token
		bi.CreateJobKey = store.JobKey(bid, j.Token)
		if ok, err := b.startJob(ctx, j, true, store.PutBinding(bi), store.PutInstance(&nextIn)); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		return &osbapi.BindResponse{Async: true, Operation: j.Token}, nil
	}
	return nil, osbapi.ConcurrencyError("instance %q is being changed concurrently; retry", iid)
}

func (b *Broker) bindExisting(ctx context.Context, iid string, cur *store.BindInstance, req *osbapi.BindRequest) (*osbapi.BindResponse, error) {
	same := cur.InstanceID == iid && cur.ServiceID == req.ServiceID && cur.PlanID == req.PlanID &&
		sameParams(cur.UserParameters, req.Parameters) && cur.AppGUID == appGUID(req)
	if !same {
		return nil, osbapi.Conflict("binding %q already exists with different attributes", cur.ID)
	}
	switch cur.Status {
	case store.StatusBinding:
		return &osbapi.BindResponse{Async: true, Operation: cur.Operation}, nil
	case store.StatusUnbinding:
		return nil, osbapi.ConcurrencyError("binding %q is being deleted", cur.ID)
	case store.StatusFailed:
		return nil, osbapi.Conflict("binding %q exists but its bind failed; unbind it first", cur.ID)
	}
	creds, err := b.st.GetCredentials(ctx, cur.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, storeErr(err, "reading credentials")
	}
	resp := &osbapi.BindResponse{Exists: true}
	if creds != nil {
		resp.Credentials = creds.Credentials
	}
	return resp, nil
}

// Unbind implements osbapi.Broker.
func (b *Broker) Unbind(ctx context.Context, ri osbapi.RequestInfo, iid, bid string, req *osbapi.UnbindRequest) (*osbapi.UnbindResponse, error) {
	if err := checkIDs(iid, bid); err != nil {
		return nil, err
	}
	for range maxRaces {
		cur, err := b.st.GetBinding(ctx, bid)
		if errors.Is(err, store.ErrNotFound) || (err == nil && cur.InstanceID != iid) {
			return nil, osbapi.Gone("binding %q of instance %q does not exist", bid, iid)
		}
		if err != nil {
			return nil, storeErr(err, "reading binding")
		}
		if b.o.LaunchAPBOnBind && !ri.AcceptsIncomplete {
			return nil, osbapi.AsyncRequired()
		}
		in, err := b.st.GetInstance(ctx, iid)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, storeErr(err, "reading instance")
		}
		ns := ""
		if in != nil {
			ns = namespaceOf(in.Context)
		}
		if err := b.authorizeUser(ctx, ri, ns, true); err != nil {
			return nil, err
		}
		if cur.Operation != "" {
			if cur.Status == store.StatusUnbinding {
				return &osbapi.UnbindResponse{Async: true, Operation: cur.Operation}, nil
			}
			return nil, osbapi.ConcurrencyError("binding %q has an operation in progress", bid)
		}
		if !b.o.LaunchAPBOnBind {
			// Nothing runs on the binding (no operation): its job records,
			// if any, are finished and go with it.
			older, err := b.st.BindingJobs(ctx, bid)
			if err != nil {
				return nil, storeErr(err, "reading the binding's operations")
			}
			ops := append([]store.Op{store.DeleteBinding(cur), store.DeleteCredentials(bid)}, deleteJobs(othersFinished(older, nil), maxCleanupOps)...)
			if in != nil {
				next := *in
				next.BindingIDs = maps.Clone(in.BindingIDs)
				delete(next.BindingIDs, bid)
				ops = append(ops, store.PutInstance(&next))
			}
			if _, err := b.st.Commit(ctx, ops...); errors.Is(err, store.ErrConflict) {
				continue
			} else if err != nil {
				return nil, storeErr(err, "deleting binding")
			}
			return &osbapi.UnbindResponse{}, nil
		}
		j := newJob(runtime.ActionUnbind, iid, bid, cur.PlanID, cur.UserParameters, ri)
		next := *cur
		next.Status, next.Operation = store.StatusUnbinding, j.Token
		if ok, err := b.startJob(ctx, j, false, store.PutBinding(&next)); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		return &osbapi.UnbindResponse{Async: true, Operation: j.Token}, nil
	}
	return nil, osbapi.ConcurrencyError("binding %q is being changed concurrently; retry", bid)
}

// GetBinding implements osbapi.Broker.
func (b *Broker) GetBinding(ctx context.Context, ri osbapi.RequestInfo, iid, bid string, req *osbapi.FetchRequest) (*osbapi.GetBindingResponse, error) {
	if err := checkIDs(iid, bid); err != nil {
		return nil, err
	}
	cur, err := b.st.GetBinding(ctx, bid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && cur.InstanceID != iid) {
		return nil, osbapi.NotFound("binding %q of instance %q does not exist", bid, iid)
	}
	if err != nil {
		return nil, storeErr(err, "reading binding")
	}
	if cur.Status == store.StatusBinding || cur.Status == store.StatusFailed {
		return nil, osbapi.NotFound("binding %q is not bound", bid)
	}
	resp := &osbapi.GetBindingResponse{Parameters: cur.UserParameters}
	creds, err := b.st.GetCredentials(ctx, bid)
	switch {
	case err == nil:
		resp.Credentials = creds.Credentials
	case !errors.Is(err, store.ErrNotFound):
		return nil, storeErr(err, "reading credentials")
	}
	return resp, nil
}

// BindingLastOperation implements osbapi.Broker.
func (b *Broker) BindingLastOperation(ctx context.Context, ri osbapi.RequestInfo, iid, bid string, req *osbapi.LastOperationRequest) (*osbapi.LastOperationResponse, error) {
	if err := checkIDs(iid, bid); err != nil {
		return nil, err
	}
	cur, berr := b.st.GetBinding(ctx, bid)
	if berr != nil && !errors.Is(berr, store.ErrNotFound) {
		return nil, storeErr(berr, "reading binding")
	}
	j, err := b.pickJob(ctx, bid, true, req.Operation)
	if err != nil {
		return nil, err
	}
	if j != nil && j.InstanceID != iid {
		j = nil
	}
	if j != nil && j.Method == runtime.ActionUnbind && j.State == store.JobSucceeded {
		return nil, osbapi.Gone("binding %q was deleted", bid)
	}
	if berr != nil || cur.InstanceID != iid {
		return nil, osbapi.NotFound("binding %q of instance %q does not exist", bid, iid)
	}
	if j == nil {
		return nil, osbapi.NotFound("binding %q has no operation", bid)
	}
	return b.lastOp(j), nil
}
