package graph

// ActionRescheduleTask is the action of the system message SQL writes when a reminder is
// answered "reschedule" (WhatsApp 2, the call's 2, the push button; flux.record_response in
// migration 600). The task's ladder is held meanwhile: nothing moves it, and it is auto-missed
// at the end of its day.
const ActionRescheduleTask = "reschedule_task"

// rescheduleTask answers a reminder's "reschedule": it proposes the next free slot after the
// task (the slot finder, as for a reschedule asked in chat without a time) and waits for a yes,
// which moves the task and restarts its ladder (applyReschedule). Another time named instead is
// proposed the same way. No model is needed.
func (t *turn) rescheduleTask() error {
	if _, ok := t.booked(t.in.ActionTaskID); !ok {
		t.reply("That reminder's task is no longer open, so there is nothing to reschedule.", "reschedule",
			map[string]any{"kind": "notice", "task_id": t.in.ActionTaskID})
		return nil
	}
	return t.askRescheduleTime(t.in.ActionTaskID)
}
