// One process for all template assertions: loading aws-cdk-lib and synthesising the app are
// the slow part (seconds each), so the specs share one default synthesis (helpers.defaultSynth).

import './spec/config';
import './spec/stateful';
import './spec/functions';
import './spec/events';
import './spec/iam';
import './spec/alarms';
import './spec/nag';
