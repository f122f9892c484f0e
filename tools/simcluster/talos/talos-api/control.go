package main

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/siderolabs/talos/pkg/machinery/api/common"
	"github.com/siderolabs/talos/pkg/machinery/resources/runtime"
)

// The control API, HTTP on loopback, for the tests:
//
//	POST /faults     {"kind": k, "node": name|ip|"all", "set": bool}   set or clear a fault
//	POST /nodes      NodeSpec                                           add a node (it installs first if registerAfterMs > 0)
//	POST /isos       ISO                                                an ISO downloaded to a datastore
//	POST /machines   MachineSpec                                        boot a VM from the ISO (maintenance mode; provision.go)
//	POST /machines/{ip}/reboot                                          reboot a VM (Proxmox, after an update that needs it)
//	DELETE /machines/{ip}                                               delete a VM
//	GET  /nodes      the nodes as the stand-in holds them
//	POST /kubernetes {"version": "v1.36.3"}                             the part of upgrade-k8s that stays a stand-in
//	GET  /timeline   what happened, in order
//
// Fault kinds, each on one node (by name or IP): fail-upgrade (the install exits non-zero), fail-reboot
// (the reboot sequence fails before the node goes down), unreachable (its API stops answering),
// etcd-unhealthy (its member reports an error), stay-notready (its kubelet reports NotReady),
// cilium-unavailable (its cilium agent is not available), keep-staged (its next boot ignores the staged
// config), block-drain (a PodDisruptionBudget forbids evicting its workload pod).
var faultKinds = map[string]bool{
	"fail-upgrade": true, "fail-reboot": true, "unreachable": true, "etcd-unhealthy": true,
	"stay-notready": true, "cilium-unavailable": true, "keep-staged": true, "block-drain": true,
}

// NodeState is a node as GET /nodes reports it.
type NodeState struct {
	Name       string `json:"name"`
	IP         string `json:"ip"`
	Role       string `json:"role"`
	Version    string `json:"version"`
	Schematic  string `json:"schematic"`
	Kubelet    string `json:"kubelet"`
	Up         bool   `json:"up"`
	Staged     bool   `json:"staged"`
	EtcdMember bool   `json:"etcdMember"`
	Gone       bool   `json:"gone"`
	Config     string `json:"config"`
	// BootedWith is the config the node last booted into, what its boot-time settings run with.
	BootedWith string `json:"bootedWith"`
}

func (c *Cluster) controlHandler() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Kind string `json:"kind"`
			Node string `json:"node"`
			Set  bool   `json:"set"`
		}

		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || !faultKinds[req.Kind] || req.Node == "" {
			http.Error(w, "want {kind, node, set}; kinds: fail-upgrade fail-reboot unreachable etcd-unhealthy stay-notready cilium-unavailable keep-staged block-drain", http.StatusBadRequest)

			return
		}

		c.mu.Lock()
		if req.Set {
			c.faults[req.Kind+"/"+req.Node] = ""
		} else {
			delete(c.faults, req.Kind+"/"+req.Node)
		}

		var target *Node

		for _, n := range c.nodes {
			if n.Name == req.Node || n.IP == req.Node {
				target = n
			}
		}
		c.mu.Unlock()

		what := "fault-cleared"
		if req.Set {
			what = "fault-set"
		}

		c.timeline.Add(req.Node, what, req.Kind)

		// A kubelet's readiness and a cilium agent's availability change at once.
		var err error

		switch {
		case req.Kind == "stay-notready" && target != nil:
			err = target.reportStatus()

			c.mu.Lock()
			booted := target.booted
			c.mu.Unlock()

			if err == nil && booted {
				err = target.setStage(runtime.MachineStageRunning)
			}
		case req.Kind == "cilium-unavailable":
			err = c.updateControllers()
		case req.Kind == "block-drain" && target != nil:
			err = c.blockDrain(target, req.Set)
		}

		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)

			return
		}

		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("POST /nodes", func(w http.ResponseWriter, r *http.Request) {
		var spec NodeSpec
		if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)

			return
		}

		if err := c.AddNode(spec); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)

			return
		}

		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("POST /machines", func(w http.ResponseWriter, r *http.Request) {
		var spec MachineSpec
		if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)

			return
		}

		if err := c.AddMachine(spec); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)

			return
		}

		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("POST /isos", func(w http.ResponseWriter, r *http.Request) {
		var iso ISO
		if err := json.NewDecoder(r.Body).Decode(&iso); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)

			return
		}

		if err := c.AddISO(iso); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)

			return
		}

		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("POST /machines/{ip}/reboot", func(w http.ResponseWriter, r *http.Request) {
		if err := c.RebootMachine(r.PathValue("ip")); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)

			return
		}

		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("DELETE /machines/{ip}", func(w http.ResponseWriter, r *http.Request) {
		if err := c.DeleteMachine(r.PathValue("ip")); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)

			return
		}

		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("GET /nodes", func(w http.ResponseWriter, _ *http.Request) {
		c.mu.Lock()
		list := []NodeState{}

		for _, n := range c.sortedNodes() {
			list = append(list, NodeState{
				Name: n.Name, IP: n.IP, Role: n.Role, Version: n.version, Schematic: n.schematic, Kubelet: n.kubelet,
				Up: n.up, Staged: string(n.persisted) != string(n.running), EtcdMember: n.etcdMember, Gone: n.gone,
				Config: string(n.running), BootedWith: string(n.bootedWith),
			})
		}
		c.mu.Unlock()

		json.NewEncoder(w).Encode(list) //nolint:errcheck,errchkjson
	})

	mux.HandleFunc("POST /kubernetes", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Version string `json:"version"`
		}

		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || !strings.HasPrefix(req.Version, "v") {
			http.Error(w, `want {"version": "v1.36.3"}`, http.StatusBadRequest)

			return
		}

		if err := c.setKubelet(req.Version); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)

			return
		}

		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("GET /timeline", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(c.timeline.JSON()) //nolint:errcheck
	})

	return mux
}

func sequenceError(message string) *common.Error {
	return &common.Error{Code: common.Code_FATAL, Message: message}
}
