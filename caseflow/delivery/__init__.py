"""What the worker sends out beside the workflows: the notifications outbox through people's
channels (e-mail, webhook, log) and case events to subscribed outside tools. Loops of the
worker, not activities: no workflow calls them, and the API never loads them."""
