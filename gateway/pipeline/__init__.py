"""What happens to one message: the shared Work and Services, the order of the steps
(order), acting for staff and handing over. The steps, commands and rules it runs live in
gateway/steps, gateway/commands and gateway/rules."""
