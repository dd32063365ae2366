package twiliofake

import "github.com/flux-companion/flux/listener/reminder"

// ReminderTemplateSID is the Content SID under which `flux dev`, `flux demo` and the tests
// register Flux's reminder template, as an operator registers it in the Twilio console.
const ReminderTemplateSID = "HX0f1a2b3c4d5e6f708192a3b4c5d6e7f8"

// AddReminderTemplate registers Flux's reminder template (reminder.Template with its
// quick-reply buttons) and returns its SID, for TWILIO_CONTENT_SID_REMINDER.
func (s *Server) AddReminderTemplate() string {
	buttons := make([]string, len(reminder.TemplateButtons))
	for i, b := range reminder.TemplateButtons {
		buttons[i] = b.Title
	}
	s.AddTemplate(ReminderTemplateSID, reminder.Template, buttons...)
	return ReminderTemplateSID
}
