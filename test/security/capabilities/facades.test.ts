import { facadeDenials } from './facade-suite.js';

facadeDenials(false);
