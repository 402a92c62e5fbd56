import { IsNotEmpty, IsString } from "class-validator";
import { BaseProviderSettings } from "../settings";

export class JiandaoyunSettings extends BaseProviderSettings {
  @IsString()
  @IsNotEmpty()
  apiKey!: string;
}
