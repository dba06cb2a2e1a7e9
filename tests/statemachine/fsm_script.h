/*
 * A tiny script language for FSM tests, so each SPEC rule reads as one
 * table row.  Tokens (space separated), each one event of job "j":
 *
 *   Q[:vram]        quote_accepted, window 08:00-08:30 (vram default 80)
 *   C+ C-           capacity_checked pass / fail
 *   RA              reservation_accepted
 *   S               execution_started
 *   F:<class>       execution_failed with that failure_class
 *   D               execution_completed
 *   O               output_delivered
 *   E+ E-           evaluation_reported pass / fail
 *   SP:<class|null> seller_packet naming that failure (null = none claimed)
 *   BP:<class|null>:<budget_gb>  buyer_packet
 *   X               job_cancelled
 *   EXP             reservation_expired
 *   RV:<settlement> review_decided
 *   @N              following events carry attempt N
 *   T:HH:MM         the next event occurs at HH:MM (later ones +1 min)
 *   DAY:N           following events occur N days after 2026-05-25
 *   WIN:N           the next quote's window ends N days after its 08:00
 *                   start (instead of 08:30)
 *   DUP             repeat the previous event (same event_id)
 *   ROLE:<role>     the next event is sent by this role
 *   PRICE:<minor>[:<cur>]  the next quote carries price {amount_minor,
 *                   currency} (currency USD unless given)
 *
 * Event ids are e1, e2, ... in token order; times start at 08:01 and
 * advance one minute per event.
 */
#ifndef GR_TEST_FSM_SCRIPT_H
#define GR_TEST_FSM_SCRIPT_H

#include "gr_event.h"

/* Parse `script` into at most `max` events; returns the count or -1. */
int fsm_script_parse(const char *script, gr_event *evs, int max);

#endif
