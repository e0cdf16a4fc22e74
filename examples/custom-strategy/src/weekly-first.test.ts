// The same conformance suite and laws the built-in strategies pass, run on ours.
import { describeStrategy } from '@shunt/core/testing';
import { weeklyFirst } from './weekly-first.js';

describeStrategy(weeklyFirst);
