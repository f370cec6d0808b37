package io.asyncify4j.host;

/**
 * What a guest (an instance) has consumed so far.
 *
 * @param fuelUsed fuel units charged (metered instances only)
 * @param slices runs of guest code between suspensions (calls started or resumed)
 * @param suspensions suspensions on async imports
 * @param preemptions suspensions because a slice's fuel ran out
 * @param runNanos wall time spent running guest code
 */
public record GuestMetrics(long fuelUsed, long slices, long suspensions, long preemptions, long runNanos) {}
