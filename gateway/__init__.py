"""support-gateway: an email gateway that makes a support team keep its promises."""

__version__ = "0.1.0"
