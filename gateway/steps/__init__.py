"""The pipeline's steps, one per module: each does one thing to the message in flight and either
lets it go on or ends its journey (gateway/pipeline/order.py holds their order). A step may
import the commands, the pipeline's work, rules, mail, promise, store and core; never the
daemon, the web view or the cli."""
