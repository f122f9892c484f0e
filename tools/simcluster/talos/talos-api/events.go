package main

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/rs/xid"

	"github.com/siderolabs/talos/pkg/machinery/api/machine"
)

// eventLog is a node's events since it booted, and the streams that follow it. machined keeps the
// events of the current boot in a ring buffer; EventsRequest.tail_events = 0 streams only new ones,
// -1 all of them, n the last n; else tail_id streams the events after that one, by their xid, which
// orders events across reboots (internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go
// Events, pkg/runtime/v1alpha1/v1alpha1_events.go Watch). talosctl v1.14's tracker reconnects with
// tail_id after the node's reboot (cmd/talosctl/pkg/talos/action/node.go) and needs the new boot's events.
type eventLog struct {
	mu     sync.Mutex
	events []*machine.Event
	subs   map[chan *machine.Event]struct{}
	closed bool
	done   chan struct{}
}

func newEventLog() *eventLog {
	return &eventLog{subs: map[chan *machine.Event]struct{}{}, done: make(chan struct{})}
}

func (l *eventLog) add(e *machine.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()

	if l.closed {
		return
	}

	l.events = append(l.events, e)

	for ch := range l.subs {
		select {
		case ch <- e:
		default: // a stream that does not read loses events, as machined's ring buffer overruns
		}
	}
}

// subscribe returns the backlog per tail (or, with tail 0, after tailID) and a channel of new events;
// done closes when the node goes down.
func (l *eventLog) subscribe(tail int32, tailID xid.ID) ([]*machine.Event, chan *machine.Event, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()

	var backlog []*machine.Event

	switch {
	case tail < 0:
		backlog = append(backlog, l.events...)
	case tail > 0 && int(tail) < len(l.events):
		backlog = append(backlog, l.events[len(l.events)-int(tail):]...)
	case tail > 0:
		backlog = append(backlog, l.events...)
	case !tailID.IsNil():
		for _, e := range l.events {
			if id, err := xid.FromString(e.Id); err == nil && id.Compare(tailID) > 0 {
				backlog = append(backlog, e)
			}
		}
	}

	ch := make(chan *machine.Event, 256)
	l.subs[ch] = struct{}{}

	return backlog, ch, l.done
}

func (l *eventLog) unsubscribe(ch chan *machine.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()

	delete(l.subs, ch)
}

func (l *eventLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()

	if !l.closed {
		l.closed = true
		close(l.done)
	}
}

// Timeline records what happened to each node and when, for the tests' invariants.
type Timeline struct {
	mu      sync.Mutex
	start   time.Time
	entries []TimelineEntry
}

// TimelineEntry is one thing that happened: cordoned, uncordoned, evicted (a pod drained off the
// node), down, up, installing, upgrade-installed, config-staged, config-applied, reset, etcd-left,
// reboot-failed, upgrade-failed.
type TimelineEntry struct {
	Ms     int64  `json:"ms"`
	Node   string `json:"node"`
	Event  string `json:"event"`
	Detail string `json:"detail,omitempty"`
}

func NewTimeline() *Timeline { return &Timeline{start: time.Now()} }

func (t *Timeline) Add(node, event, detail string) {
	t.mu.Lock()
	defer t.mu.Unlock()

	t.entries = append(t.entries, TimelineEntry{Ms: time.Since(t.start).Milliseconds(), Node: node, Event: event, Detail: detail})
}

func (t *Timeline) JSON() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()

	data, _ := json.Marshal(t.entries) //nolint:errchkjson

	return data
}
