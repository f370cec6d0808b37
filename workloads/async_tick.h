/*
 * The one asynchronous host import the workloads share. A host that asyncifies the module with
 * `env.async_tick` as its only unwinding import may suspend the guest inside any call to it; a plain
 * host returns at once. The argument is informative only (the hosts ignore it).
 */
#ifndef ASYNC_TICK_H
#define ASYNC_TICK_H

__attribute__((import_module("env"), import_name("async_tick")))
void async_tick(int value);

#endif
