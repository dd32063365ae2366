export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  public: {
    Tables: {
      conversations: {
        Row: {
          agent_status: Database["public"]["Enums"]["agent_status"]
          context_type: Database["public"]["Enums"]["context_type"]
          created_at: string
          id: string
          last_message_at: string | null
          thread_id: string
          updated_at: string
          user_id: string
        }
        Insert: {
          agent_status?: Database["public"]["Enums"]["agent_status"]
          context_type?: Database["public"]["Enums"]["context_type"]
          created_at?: string
          id?: string
          last_message_at?: string | null
          thread_id?: string
          updated_at?: string
          user_id?: string
        }
        Update: {
          agent_status?: Database["public"]["Enums"]["agent_status"]
          context_type?: Database["public"]["Enums"]["context_type"]
          created_at?: string
          id?: string
          last_message_at?: string | null
          thread_id?: string
          updated_at?: string
          user_id?: string
        }
        Relationships: []
      }
      dispatch_log: {
        Row: {
          attempts: number
          channel: Database["public"]["Enums"]["escalation_stage"]
          created_at: string
          dispatched_at: string | null
          due_at: string | null
          error: string | null
          id: number
          lease_owner: string | null
          lease_until: string | null
          next_attempt_at: string
          status: Database["public"]["Enums"]["dispatch_status"]
          task_id: string
          user_id: string
        }
        Insert: {
          attempts?: number
          channel: Database["public"]["Enums"]["escalation_stage"]
          created_at?: string
          dispatched_at?: string | null
          due_at?: string | null
          error?: string | null
          id?: never
          lease_owner?: string | null
          lease_until?: string | null
          next_attempt_at?: string
          status?: Database["public"]["Enums"]["dispatch_status"]
          task_id: string
          user_id: string
        }
        Update: {
          attempts?: number
          channel?: Database["public"]["Enums"]["escalation_stage"]
          created_at?: string
          dispatched_at?: string | null
          due_at?: string | null
          error?: string | null
          id?: never
          lease_owner?: string | null
          lease_until?: string | null
          next_attempt_at?: string
          status?: Database["public"]["Enums"]["dispatch_status"]
          task_id?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "dispatch_log_task_fkey"
            columns: ["task_id", "user_id"]
            isOneToOne: false
            referencedRelation: "tasks"
            referencedColumns: ["id", "user_id"]
          },
        ]
      }
      goals: {
        Row: {
          activated_at: string | null
          class_tags: string[]
          completed_at: string | null
          created_at: string
          description: string | null
          id: string
          parent_goal_id: string | null
          pipeline_order: number | null
          plan: Json | null
          status: Database["public"]["Enums"]["goal_status"]
          target_weeks: number
          title: string
          updated_at: string
          user_id: string
        }
        Insert: {
          activated_at?: string | null
          class_tags?: string[]
          completed_at?: string | null
          created_at?: string
          description?: string | null
          id?: string
          parent_goal_id?: string | null
          pipeline_order?: number | null
          plan?: Json | null
          status?: Database["public"]["Enums"]["goal_status"]
          target_weeks?: number
          title: string
          updated_at?: string
          user_id?: string
        }
        Update: {
          activated_at?: string | null
          class_tags?: string[]
          completed_at?: string | null
          created_at?: string
          description?: string | null
          id?: string
          parent_goal_id?: string | null
          pipeline_order?: number | null
          plan?: Json | null
          status?: Database["public"]["Enums"]["goal_status"]
          target_weeks?: number
          title?: string
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "goals_parent_fkey"
            columns: ["parent_goal_id", "user_id"]
            isOneToOne: false
            referencedRelation: "goals"
            referencedColumns: ["id", "user_id"]
          },
        ]
      }
      messages: {
        Row: {
          agent_node: string | null
          content: string
          conversation_id: string
          created_at: string
          id: string
          metadata: NonNullable<Json>
          provider: string | null
          role: Database["public"]["Enums"]["message_role"]
          tokens_used: number
          user_id: string
        }
        Insert: {
          agent_node?: string | null
          content: string
          conversation_id: string
          created_at?: string
          id?: string
          metadata?: NonNullable<Json>
          provider?: string | null
          role?: Database["public"]["Enums"]["message_role"]
          tokens_used?: number
          user_id?: string
        }
        Update: {
          agent_node?: string | null
          content?: string
          conversation_id?: string
          created_at?: string
          id?: string
          metadata?: NonNullable<Json>
          provider?: string | null
          role?: Database["public"]["Enums"]["message_role"]
          tokens_used?: number
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "messages_conversation_fkey"
            columns: ["conversation_id", "user_id"]
            isOneToOne: false
            referencedRelation: "conversations"
            referencedColumns: ["id", "user_id"]
          },
        ]
      }
      notification_log: {
        Row: {
          channel: Database["public"]["Enums"]["notification_channel"]
          delivery_error_code: number | null
          delivery_status: Database["public"]["Enums"]["delivery_status"] | null
          delivery_updated_at: string | null
          external_id: string | null
          id: string
          responded_at: string | null
          response: Database["public"]["Enums"]["reminder_response"] | null
          sent_at: string
          task_id: string
          user_id: string
        }
        Insert: {
          channel: Database["public"]["Enums"]["notification_channel"]
          delivery_error_code?: number | null
          delivery_status?:
            | Database["public"]["Enums"]["delivery_status"]
            | null
          delivery_updated_at?: string | null
          external_id?: string | null
          id?: string
          responded_at?: string | null
          response?: Database["public"]["Enums"]["reminder_response"] | null
          sent_at?: string
          task_id: string
          user_id: string
        }
        Update: {
          channel?: Database["public"]["Enums"]["notification_channel"]
          delivery_error_code?: number | null
          delivery_status?:
            | Database["public"]["Enums"]["delivery_status"]
            | null
          delivery_updated_at?: string | null
          external_id?: string | null
          id?: string
          responded_at?: string | null
          response?: Database["public"]["Enums"]["reminder_response"] | null
          sent_at?: string
          task_id?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "notification_log_task_fkey"
            columns: ["task_id", "user_id"]
            isOneToOne: false
            referencedRelation: "tasks"
            referencedColumns: ["id", "user_id"]
          },
        ]
      }
      patterns: {
        Row: {
          confidence: number
          created_at: string
          data: NonNullable<Json>
          description: string
          id: string
          pattern_type: Database["public"]["Enums"]["pattern_type"]
          updated_at: string
          user_id: string
        }
        Insert: {
          confidence: number
          created_at?: string
          data?: NonNullable<Json>
          description: string
          id?: string
          pattern_type: Database["public"]["Enums"]["pattern_type"]
          updated_at?: string
          user_id?: string
        }
        Update: {
          confidence?: number
          created_at?: string
          data?: NonNullable<Json>
          description?: string
          id?: string
          pattern_type?: Database["public"]["Enums"]["pattern_type"]
          updated_at?: string
          user_id?: string
        }
        Relationships: []
      }
      push_subscriptions: {
        Row: {
          auth: string
          created_at: string
          endpoint: string
          id: string
          last_used_at: string | null
          p256dh: string
          user_agent: string | null
          user_id: string
        }
        Insert: {
          auth: string
          created_at?: string
          endpoint: string
          id?: string
          last_used_at?: string | null
          p256dh: string
          user_agent?: string | null
          user_id: string
        }
        Update: {
          auth?: string
          created_at?: string
          endpoint?: string
          id?: string
          last_used_at?: string | null
          p256dh?: string
          user_agent?: string | null
          user_id?: string
        }
        Relationships: []
      }
      tasks: {
        Row: {
          call_sent_at: string | null
          completed_at: string | null
          created_at: string
          description: string | null
          duration_minutes: number
          escalation_due_at: string | null
          escalation_policy: Database["public"]["Enums"]["escalation_policy"]
          escalation_stage:
            | Database["public"]["Enums"]["escalation_stage"]
            | null
          goal_id: string | null
          id: string
          location_trigger: Json | null
          recurrence_rule: string | null
          reminder_sent_at: string | null
          scheduled_at: string | null
          shared_with_goal_ids: string[]
          snooze_count: number
          snoozed_at: string | null
          status: Database["public"]["Enums"]["task_status"]
          title: string
          trigger_type: Database["public"]["Enums"]["trigger_type"]
          updated_at: string
          user_id: string
          whatsapp_sent_at: string | null
        }
        Insert: {
          call_sent_at?: string | null
          completed_at?: string | null
          created_at?: string
          description?: string | null
          duration_minutes?: number
          escalation_due_at?: string | null
          escalation_policy: Database["public"]["Enums"]["escalation_policy"]
          escalation_stage?:
            | Database["public"]["Enums"]["escalation_stage"]
            | null
          goal_id?: string | null
          id?: string
          location_trigger?: Json | null
          recurrence_rule?: string | null
          reminder_sent_at?: string | null
          scheduled_at?: string | null
          shared_with_goal_ids?: string[]
          snooze_count?: number
          snoozed_at?: string | null
          status?: Database["public"]["Enums"]["task_status"]
          title: string
          trigger_type?: Database["public"]["Enums"]["trigger_type"]
          updated_at?: string
          user_id?: string
          whatsapp_sent_at?: string | null
        }
        Update: {
          call_sent_at?: string | null
          completed_at?: string | null
          created_at?: string
          description?: string | null
          duration_minutes?: number
          escalation_due_at?: string | null
          escalation_policy?: Database["public"]["Enums"]["escalation_policy"]
          escalation_stage?:
            | Database["public"]["Enums"]["escalation_stage"]
            | null
          goal_id?: string | null
          id?: string
          location_trigger?: Json | null
          recurrence_rule?: string | null
          reminder_sent_at?: string | null
          scheduled_at?: string | null
          shared_with_goal_ids?: string[]
          snooze_count?: number
          snoozed_at?: string | null
          status?: Database["public"]["Enums"]["task_status"]
          title?: string
          trigger_type?: Database["public"]["Enums"]["trigger_type"]
          updated_at?: string
          user_id?: string
          whatsapp_sent_at?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "tasks_goal_fkey"
            columns: ["goal_id", "user_id"]
            isOneToOne: false
            referencedRelation: "goals"
            referencedColumns: ["id", "user_id"]
          },
        ]
      }
      users: {
        Row: {
          created_at: string
          email: string | null
          id: string
          monthly_token_usage: NonNullable<Json>
          notification_preferences: NonNullable<Json>
          onboarded: boolean
          phone_number: string | null
          phone_verified: boolean
          profile: NonNullable<Json>
          timezone: string
          updated_at: string
          whatsapp_opt_in_at: string | null
          whatsapp_opted_out_at: string | null
          whatsapp_window_until: string | null
        }
        Insert: {
          created_at?: string
          email?: string | null
          id: string
          monthly_token_usage?: NonNullable<Json>
          notification_preferences?: NonNullable<Json>
          onboarded?: boolean
          phone_number?: string | null
          phone_verified?: boolean
          profile?: NonNullable<Json>
          timezone?: string
          updated_at?: string
          whatsapp_opt_in_at?: string | null
          whatsapp_opted_out_at?: string | null
          whatsapp_window_until?: string | null
        }
        Update: {
          created_at?: string
          email?: string | null
          id?: string
          monthly_token_usage?: NonNullable<Json>
          notification_preferences?: NonNullable<Json>
          onboarded?: boolean
          phone_number?: string | null
          phone_verified?: boolean
          profile?: NonNullable<Json>
          timezone?: string
          updated_at?: string
          whatsapp_opt_in_at?: string | null
          whatsapp_opted_out_at?: string | null
          whatsapp_window_until?: string | null
        }
        Relationships: []
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      abandon_goal: { Args: { p_goal_id: string }; Returns: Json }
      analytics_goal_progress: {
        Args: Record<PropertyKey, never>
        Returns: {
          class_tags: string[]
          done: number
          goal_id: string
          missed: number
          parent_goal_id: string
          pending: number
          percent: number
          pipeline_order: number
          status: Database["public"]["Enums"]["goal_status"]
          title: string
          total: number
        }[]
      }
      analytics_missed_by_category: {
        Args: Record<PropertyKey, never>
        Returns: {
          category: string
          missed: number
          missed_percent: number
          total: number
        }[]
      }
      analytics_overview: { Args: { p_days?: number }; Returns: Json }
      analytics_weekly_completion: {
        Args: { p_weeks?: number }
        Returns: {
          done: number
          percent: number
          total: number
          week_start: string
        }[]
      }
      approve_plan: { Args: { p_conversation_id: string }; Returns: string }
      complete_task: {
        Args: { p_task_id: string }
        Returns: {
          call_sent_at: string | null
          completed_at: string | null
          created_at: string
          description: string | null
          duration_minutes: number
          escalation_due_at: string | null
          escalation_policy: Database["public"]["Enums"]["escalation_policy"]
          escalation_stage:
            | Database["public"]["Enums"]["escalation_stage"]
            | null
          goal_id: string | null
          id: string
          location_trigger: Json | null
          recurrence_rule: string | null
          reminder_sent_at: string | null
          scheduled_at: string | null
          shared_with_goal_ids: string[]
          snooze_count: number
          snoozed_at: string | null
          status: Database["public"]["Enums"]["task_status"]
          title: string
          trigger_type: Database["public"]["Enums"]["trigger_type"]
          updated_at: string
          user_id: string
          whatsapp_sent_at: string | null
        }
        SetofOptions: {
          from: "*"
          to: "tasks"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      confirm_reschedule: {
        Args: { p_at: string; p_task_id: string }
        Returns: {
          call_sent_at: string | null
          completed_at: string | null
          created_at: string
          description: string | null
          duration_minutes: number
          escalation_due_at: string | null
          escalation_policy: Database["public"]["Enums"]["escalation_policy"]
          escalation_stage:
            | Database["public"]["Enums"]["escalation_stage"]
            | null
          goal_id: string | null
          id: string
          location_trigger: Json | null
          recurrence_rule: string | null
          reminder_sent_at: string | null
          scheduled_at: string | null
          shared_with_goal_ids: string[]
          snooze_count: number
          snoozed_at: string | null
          status: Database["public"]["Enums"]["task_status"]
          title: string
          trigger_type: Database["public"]["Enums"]["trigger_type"]
          updated_at: string
          user_id: string
          whatsapp_sent_at: string | null
        }
        SetofOptions: {
          from: "*"
          to: "tasks"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      mark_missed: {
        Args: { p_task_id: string }
        Returns: {
          call_sent_at: string | null
          completed_at: string | null
          created_at: string
          description: string | null
          duration_minutes: number
          escalation_due_at: string | null
          escalation_policy: Database["public"]["Enums"]["escalation_policy"]
          escalation_stage:
            | Database["public"]["Enums"]["escalation_stage"]
            | null
          goal_id: string | null
          id: string
          location_trigger: Json | null
          recurrence_rule: string | null
          reminder_sent_at: string | null
          scheduled_at: string | null
          shared_with_goal_ids: string[]
          snooze_count: number
          snoozed_at: string | null
          status: Database["public"]["Enums"]["task_status"]
          title: string
          trigger_type: Database["public"]["Enums"]["trigger_type"]
          updated_at: string
          user_id: string
          whatsapp_sent_at: string | null
        }
        SetofOptions: {
          from: "*"
          to: "tasks"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      override_pattern: {
        Args: {
          p_confidence?: number
          p_description?: string
          p_pattern_id: string
        }
        Returns: {
          confidence: number
          created_at: string
          data: NonNullable<Json>
          description: string
          id: string
          pattern_type: Database["public"]["Enums"]["pattern_type"]
          updated_at: string
          user_id: string
        }
        SetofOptions: {
          from: "*"
          to: "patterns"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      propose_reschedule: {
        Args: { p_at?: string; p_task_id: string }
        Returns: Json
      }
      respond_to_reminder: {
        Args: { p_response: string; p_task_id: string }
        Returns: string
      }
      set_whatsapp_opt_in: { Args: { p_opt_in?: boolean }; Returns: string }
      simulate_location_trigger: {
        Args: { p_event?: string; p_place: string }
        Returns: {
          call_sent_at: string | null
          completed_at: string | null
          created_at: string
          description: string | null
          duration_minutes: number
          escalation_due_at: string | null
          escalation_policy: Database["public"]["Enums"]["escalation_policy"]
          escalation_stage:
            | Database["public"]["Enums"]["escalation_stage"]
            | null
          goal_id: string | null
          id: string
          location_trigger: Json | null
          recurrence_rule: string | null
          reminder_sent_at: string | null
          scheduled_at: string | null
          shared_with_goal_ids: string[]
          snooze_count: number
          snoozed_at: string | null
          status: Database["public"]["Enums"]["task_status"]
          title: string
          trigger_type: Database["public"]["Enums"]["trigger_type"]
          updated_at: string
          user_id: string
          whatsapp_sent_at: string | null
        }[]
        SetofOptions: {
          from: "*"
          to: "tasks"
          isOneToOne: false
          isSetofReturn: true
        }
      }
      today_tasks: {
        Args: Record<PropertyKey, never>
        Returns: {
          call_sent_at: string | null
          completed_at: string | null
          created_at: string
          description: string | null
          duration_minutes: number
          escalation_due_at: string | null
          escalation_policy: Database["public"]["Enums"]["escalation_policy"]
          escalation_stage:
            | Database["public"]["Enums"]["escalation_stage"]
            | null
          goal_id: string | null
          id: string
          location_trigger: Json | null
          recurrence_rule: string | null
          reminder_sent_at: string | null
          scheduled_at: string | null
          shared_with_goal_ids: string[]
          snooze_count: number
          snoozed_at: string | null
          status: Database["public"]["Enums"]["task_status"]
          title: string
          trigger_type: Database["public"]["Enums"]["trigger_type"]
          updated_at: string
          user_id: string
          whatsapp_sent_at: string | null
        }[]
        SetofOptions: {
          from: "*"
          to: "tasks"
          isOneToOne: false
          isSetofReturn: true
        }
      }
    }
    Enums: {
      agent_status: "idle" | "thinking"
      context_type: "onboarding" | "goal" | "task" | "reschedule" | "general"
      delivery_status:
        | "queued"
        | "initiated"
        | "ringing"
        | "sent"
        | "in-progress"
        | "delivered"
        | "read"
        | "completed"
        | "undelivered"
        | "failed"
        | "busy"
        | "no-answer"
        | "canceled"
      dispatch_status: "pending" | "dispatched" | "failed" | "skipped"
      escalation_policy: "full" | "gentle" | "silent"
      escalation_stage: "push" | "whatsapp" | "call" | "auto_miss"
      goal_status: "active" | "completed" | "abandoned" | "pipeline"
      message_role: "user" | "assistant" | "system" | "summary"
      notification_channel: "push" | "whatsapp" | "call"
      pattern_type:
        | "time_avoidance"
        | "completion_streak"
        | "category_performance"
      reminder_response:
        | "done"
        | "reschedule"
        | "missed"
        | "no_response"
        | "acknowledged"
        | "snoozed"
      task_status: "pending" | "done" | "missed" | "rescheduled" | "cancelled"
      trigger_type: "time" | "location"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

export const Constants = {
  public: {
    Enums: {
      agent_status: ["idle", "thinking"],
      context_type: ["onboarding", "goal", "task", "reschedule", "general"],
      delivery_status: [
        "queued",
        "initiated",
        "ringing",
        "sent",
        "in-progress",
        "delivered",
        "read",
        "completed",
        "undelivered",
        "failed",
        "busy",
        "no-answer",
        "canceled",
      ],
      dispatch_status: ["pending", "dispatched", "failed", "skipped"],
      escalation_policy: ["full", "gentle", "silent"],
      escalation_stage: ["push", "whatsapp", "call", "auto_miss"],
      goal_status: ["active", "completed", "abandoned", "pipeline"],
      message_role: ["user", "assistant", "system", "summary"],
      notification_channel: ["push", "whatsapp", "call"],
      pattern_type: [
        "time_avoidance",
        "completion_streak",
        "category_performance",
      ],
      reminder_response: [
        "done",
        "reschedule",
        "missed",
        "no_response",
        "acknowledged",
        "snoozed",
      ],
      task_status: ["pending", "done", "missed", "rescheduled", "cancelled"],
      trigger_type: ["time", "location"],
    },
  },
} as const

