-- A confirmed move of a task (see flux.move_task, which confirm_reschedule calls too). $1 user,
-- $2 task, $3 time. PT404/PT409: the task is no longer the user's or no longer open.
select from flux.move_task($1, $2, $3, 'reschedule')
